#!/usr/bin/env python3
"""Calls libquamba's C API (quamba/runtime.h) through ctypes with hostile
arguments, on the CPU backend, and checks each return code and
quamba_last_error() message; then checks that a valid greedy generation
still works and gives the tokens quamba-run gave.

    capi_hostile.py QUAMBA_RUN MODEL.qmb EXPECTED_TOKENS_JSON

libquamba.so is found beside the quamba-run binary (its RPATH: ../lib).
Prints "ok" when every check passed.
"""

import ctypes
import json
import math
import os
import sys

I32, I64, F32 = ctypes.c_int32, ctypes.c_int64, ctypes.c_float


def main(argv):
    run, model, expected_path = argv
    lib = ctypes.CDLL(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(run))),
                                   "lib", "libquamba.so"))
    lib.quamba_last_error.restype = ctypes.c_char_p
    lib.quamba_session_vocab_size.restype = I64
    lib.quamba_prefill.argtypes = [ctypes.c_void_p, ctypes.POINTER(I32), I64,
                                   ctypes.POINTER(F32)]
    lib.quamba_decode.argtypes = [ctypes.c_void_p, I32, ctypes.POINTER(F32)]
    lib.quamba_generate.argtypes = [ctypes.c_void_p, ctypes.POINTER(I32), I64, I64, F32, I64,
                                    F32, ctypes.c_uint64, ctypes.POINTER(I32)]
    lib.quamba_generate_greedy.argtypes = [ctypes.c_void_p, ctypes.POINTER(I32), I64, I64,
                                           ctypes.POINTER(I32)]
    failures = []

    def expect_error(rc, needle, what):
        message = lib.quamba_last_error().decode()
        if rc == 0 or needle not in message:
            failures.append(f"{what}: rc {rc}, message {message!r}, expected {needle!r}")

    session = ctypes.c_void_p()
    expect_error(lib.quamba_session_open(model.encode(), b"tpu", ctypes.byref(session)),
                 "device must be auto, cuda or cpu, got 'tpu'", "open on tpu")
    if lib.quamba_session_open(model.encode(), b"cpu", ctypes.byref(session)) != 0:
        sys.exit("cannot open: " + lib.quamba_last_error().decode())
    vocab = lib.quamba_session_vocab_size(session)
    logits = (F32 * vocab)()
    prompt = (I32 * 4)(*b"The ")
    out = (I32 * 8)(*([-7] * 8))

    expect_error(lib.quamba_decode(session, 65, logits),
                 "@decode: no state; run prefill first", "decode before prefill")
    expect_error(lib.quamba_prefill(session, prompt, 0, logits),
                 "quamba_prefill: empty prompt (count 0)", "empty prompt")
    expect_error(lib.quamba_prefill(session, prompt, -3, logits),
                 "quamba_prefill: empty prompt (count -3)", "negative count")
    # A count far beyond the 4-token array: refused before a token is read.
    expect_error(lib.quamba_prefill(session, prompt, 1 << 31, logits),
                 "quamba_prefill: a prompt of 2147483648 tokens is more than the 2147483647 "
                 "one call can take", "count past the limit")
    expect_error(lib.quamba_prefill(session, prompt, 1 << 62, logits),
                 "is more than the 2147483647", "count of 2^62")
    expect_error(lib.quamba_prefill(session, None, 4, logits),
                 "quamba_prefill: null argument", "null tokens")
    bad = (I32 * 2)(65, vocab)
    expect_error(lib.quamba_prefill(session, bad, 2, logits),
                 f"token {vocab} at position 1 is outside the vocabulary [0, {vocab})",
                 "token past the vocabulary")
    expect_error(lib.quamba_generate(session, prompt, 4, -1, 0.0, 0, 1.0, 0, out),
                 "quamba_generate: max_tokens must be >= 0, got -1", "negative max_tokens")
    expect_error(lib.quamba_generate(session, prompt, 4, 8, math.nan, 0, 1.0, 0, out),
                 "quamba_generate: temperature must be a finite number >= 0 (0: greedy), got nan",
                 "NaN temperature")
    expect_error(lib.quamba_generate(session, prompt, 4, 8, math.inf, 0, 1.0, 0, out),
                 "temperature must be a finite number", "infinite temperature")
    expect_error(lib.quamba_generate(session, prompt, 4, 8, 0.8, -2, 1.0, 0, out),
                 "quamba_generate: top-k must be >= 0 (0: no cut), got -2", "negative top_k")
    expect_error(lib.quamba_generate(session, prompt, 4, 8, 0.8, 0, 0.0, 0, out),
                 "quamba_generate: top-p must be in (0, 1] (1: no cut), got 0", "top_p 0")
    expect_error(lib.quamba_generate(session, prompt, 4, 8, 0.8, 0, math.nan, 0, out),
                 "top-p must be in (0, 1]", "NaN top_p")
    expect_error(lib.quamba_generate(session, prompt, 0, 8, 0.0, 0, 1.0, 0, out),
                 "quamba_generate: empty prompt (count 0)", "generate, empty prompt")
    if any(t != -7 for t in out):
        failures.append(f"a failed call wrote tokens: {list(out)}")
    # max_tokens 0 succeeds and writes nothing.
    if lib.quamba_generate(session, prompt, 4, 0, 0.0, 0, 1.0, 0, out) != 0:
        failures.append("max_tokens 0: " + lib.quamba_last_error().decode())
    if any(t != -7 for t in out):
        failures.append(f"max_tokens 0 wrote tokens: {list(out)}")

    # After all that, the session still generates what quamba-run generates.
    with open(expected_path) as f:
        expected = json.load(f)["tokens"]
    if lib.quamba_generate_greedy(session, prompt, 4, 8, out) != 0:
        failures.append("greedy: " + lib.quamba_last_error().decode())
    elif list(out) != expected:
        failures.append(f"greedy tokens {list(out)}, quamba-run gave {expected}")
    lib.quamba_session_close(session)

    for failure in failures:
        print("FAIL:", failure)
    if failures:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
