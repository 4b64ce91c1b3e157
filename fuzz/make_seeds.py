#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ from the repository's test
inputs, so that they can be regenerated and reviewed:

  fuzz/make_seeds.py [--neox ../shared/tokenizers/gpt-neox-20b/tokenizer.json]
                     [--qmb bare.qmb]

--neox cuts the GPT-NeoX tokenizer down to its first merges (the 2.4 MB file
stays out of the repository); --qmb takes a model.qmb written by
`quamba-compile test/fixtures/tiny_mamba2_g2_hf --mode fp32 --no-weights` and
keeps its plan with short PTX stand-ins. Seeds a flag would write are left as
they are when the flag is absent. The IR seeds are the cases of the dialect and
pass tests without their resource sections (IrParserFuzzer.cpp skips those). Every seed stays a few KB: libFuzzer's default -max_len is the
largest seed. regression-* seeds are the inputs of fixed findings (written
here, small); crash-* files are findings kept as the fuzzer wrote them."""
import argparse
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    path = os.path.join(CORPUS, target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, bytes)] in file order."""
    header, offset, blob = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blob += data
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def safetensors_seeds():
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    write("safetensors", "f32-bf16-i8.safetensors", safetensors([
        ("a.weight", "F32", [2, 2], f32(1, 2, 3, 4)),
        ("b.bias", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
        ("c.q", "I8", [4], b"\x01\xff\x7f\x80"),
    ], {"format": "pt"}))
    write("safetensors", "scalar-and-empty.safetensors", safetensors([
        ("scalar", "F64", [], struct.pack("<d", 0.5)),
        ("empty", "F16", [0, 3], b""),
        ("bools", "BOOL", [2], b"\x00\x01"),
    ]))
    write("safetensors", "subbyte-unpadded.safetensors", safetensors([
        ("f4", "F4", [4], b"\x12\x34"),
        ("f8", "F8_E4M3", [2], b"\x38\xb8"),
        ("c64", "C64", [1], f32(1, -1)),
        ("u64", "U64", [1], struct.pack("<Q", 7)),
    ], pad=False))
    # The header of a real checkpoint, its tensors shrunk to one element.
    fixture = os.path.join(ROOT, "test", "fixtures", "tiny_mamba2_g2_hf", "model.safetensors")
    with open(fixture, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    names = sorted(k for k in header if k != "__metadata__")[:12]
    write("safetensors", "mamba2-names.safetensors", safetensors(
        [(k, header[k]["dtype"], [1], b"\0" * 4) for k in names],
        header.get("__metadata__")))


def config_seeds():
    for fixture in ("tiny_mamba1_hf", "tiny_mamba2_g2_hf", "tiny_mamba2_g2_state_spaces"):
        with open(os.path.join(ROOT, "test", "fixtures", fixture, "config.json")) as f:
            write("config-json", fixture + ".json", f.read())
    for model in ("mamba1-bytes-3m", "mamba2-bytes-6m"):
        with open(os.path.join(ROOT, "models", model, "config.json")) as f:
            write("config-json", model + ".json", f.read())
    # The non-JSON spellings of an infinite time_step_limit.
    with open(os.path.join(ROOT, "test", "fixtures", "tiny_mamba2_g2_hf", "config.json")) as f:
        text = f.read()
    write("config-json", "bare-infinity.json",
          re.sub(r'"time_step_limit":\s*\[[^\]]*\]', '"time_step_limit": [0.0, Infinity]', text))
    write("config-json", "string-infinity.json",
          re.sub(r'"time_step_limit":\s*\[[^\]]*\]', '"time_step_limit": [0.0, "Infinity"]', text))


def neox_cut(path, merges_kept=400):
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    model = t["model"]
    # NeoX: ids 0-1 are special, 2-257 the byte symbols, merges from 258 on.
    vocab = {k: i for k, i in model["vocab"].items() if i < 258}
    merges = []
    for merge in model["merges"]:
        a, b = merge.split(" ")
        if a in vocab and b in vocab and a + b in model["vocab"]:
            merges.append(merge)
            vocab.setdefault(a + b, model["vocab"][a + b])
        if len(merges) == merges_kept:
            break
    # Renumber the merged tokens densely so the vocabulary stays small.
    next_id = 258
    for token in sorted((k for k, i in vocab.items() if i >= 258), key=lambda k: vocab[k]):
        vocab[token] = next_id
        next_id += 1
    added = [a for a in t["added_tokens"] if a["id"] < 2 or a["content"] in ("  ", "   ", "    ")]
    for a in added:
        if a["id"] >= 2:
            a["id"] = next_id
            next_id += 1
    model["vocab"], model["merges"] = vocab, merges
    t["added_tokens"] = added
    return json.dumps(t, ensure_ascii=False, separators=(",", ":"))


def tokenizer_seeds(neox):
    if neox:
        write("tokenizer-json", "neox-cut.json", neox_cut(neox))
        with open(os.path.join(os.path.dirname(neox), "golden_encodings.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        for i, case in enumerate(cases):
            write("tokenizer-encode", "golden-%02d.txt" % i, case["text"][:1500])
    # A tiny tokenizer with the options the loader accepts beyond NeoX's.
    byte_vocab = {}
    nxt = 0x100
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        byte_vocab[chr(b) if printable else chr(nxt)] = b
        if not printable:
            nxt += 1
    byte_vocab.update({"ab": 256, "abc": 257, "<0x41>": 258, "<unk>": 259})
    write("tokenizer-json", "byte-fallback.json", json.dumps({
        "version": "1.0",
        "added_tokens": [{"id": 260, "content": "<s>", "special": True, "normalized": False,
                          "lstrip": True, "rstrip": True, "single_word": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "byte_fallback": True,
                  "fuse_unk": True, "ignore_merges": True, "vocab": byte_vocab,
                  "merges": [["a", "b"], "ab c"]},
    }, ensure_ascii=False))
    write("tokenizer-encode", "mixed.txt",
          "It's 2024;  na\u00efve cafe\u0301 \u2014 \u201cquotes\u201d <|endoftext|>\t\r\n"
          "\u4e2d\u6587 \U0001F600 \ud55c\uad6d\uc5b4 123,456.78 I'LL won't")
    write("tokenizer-encode", "invalid-utf8.txt", b"abc \xff\xfe \xc3 \xe2\x82 \xf0\x9f\x98 end")
    with open(os.path.join(ROOT, "models", "sotu-calibration.txt"), encoding="utf-8") as f:
        write("tokenizer-encode", "sotu.txt", f.read(1500))


def tiny_plan():
    """The plan of test/Unit/PlanTest.cpp's tinyPlan."""
    launch = {"op": "quantize", "kernel": "quantize_inner4", "operands": [1, 2, 3],
              "scalars": ["B*L*4"], "attrs": {"inner": [4.0]}, "grid": ["cdiv(B*L, 128)", 1, 1],
              "block": [128, 1, 1], "shared": 0}
    return {
        "format": "quamba-plan", "version": 1, "target": "sm_90a",
        "buffers": [
            {"name": "t", "dtype": "i32", "kind": "activation", "shape": ["B", "L"]},
            {"name": "x", "dtype": "f32", "kind": "activation", "shape": ["B", "L", 4]},
            {"name": "s", "dtype": "f32", "kind": "weight", "shape": [4]},
            {"name": "q", "dtype": "i8", "kind": "activation", "shape": ["B", "L", 4]},
        ],
        "kernels": [{"name": "quantize_inner4", "num_warps": 4, "shared": 0,
                     "signature": ["*fp32", "*fp32", "*i8", "i32"]}],
        "entries": [{"name": name, "single_token": name == "decode", "inputs": [0, 1],
                     "outputs": [3], "launches": [launch]} for name in ("prefill", "decode")],
    }


def qmb(plan, tensors, extra=None):
    meta = {"format": "quamba-qmb", "qmb_version": "1", "target": plan["target"],
            "plan": json.dumps(plan, separators=(",", ":")), "vocab_size": "256"}
    meta.update(extra or {})
    return safetensors(tensors, meta)


def plan_seeds(bare):
    plan = tiny_plan()
    write("plan-json", "tiny.json", json.dumps(plan))
    write("artifact", "tiny.qmb", qmb(plan, [
        ("weights/s", "F32", [4], struct.pack("<4f", 1, 2, 3, 4)),
        ("kernels/quantize_inner4.ptx", "U8", [12], b".version 9.0"),
    ]))
    regression_seeds()
    if not bare:
        return
    with open(bare, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n))["__metadata__"]
    plan = json.loads(meta["plan"])
    write("plan-json", "mamba2-tiny.json", json.dumps(plan, separators=(",", ":")))
    ptx = [("kernels/%s.ptx" % k["name"], "U8", [3], b"ptx") for k in plan["kernels"]]
    write("artifact", "mamba2-tiny-random-weights.qmb",
          qmb(plan, ptx, {"weights": "random", "tokenizer": ""}))
    # The same plan with its weights stored: every weight buffer shrunk to
    # two elements, the f32 ones alternately as BF16 (the widened form).
    weights = []
    for i, buf in enumerate(plan["buffers"]):
        if buf["kind"] != "weight":
            continue
        buf["shape"] = [2]
        if buf["dtype"] == "f32" and i % 2:
            weights.append(("weights/" + buf["name"], "BF16", [2], b"\x80\x3f\x00\x40"))
        else:
            # Artifact.cpp: f32 and f16 buffers are F32 / F16 tensors, the
            # others I8 holding their bytes.
            size = {"f32": 4, "f16": 2, "i8": 1, "u8": 1, "i32": 4}[buf["dtype"]]
            dtype = {"f32": "F32", "f16": "F16"}.get(buf["dtype"], "I8")
            shape = [2] if dtype != "I8" else [2 * size]
            weights.append(("weights/" + buf["name"], dtype, shape, b"\0" * (2 * size)))
    write("artifact", "mamba2-tiny-weights.qmb", qmb(plan, weights + ptx))


def regression_seeds():
    """Plans that overflowed int64_t shape arithmetic (UBSan) or the stack."""
    plan = tiny_plan()
    plan["buffers"][1]["shape"] = ["B", "L", "4611686018427387904*B"]
    write("plan-json", "regression-shape-overflow.json", json.dumps(plan))
    plan = tiny_plan()
    plan["entries"][0]["launches"][0]["operands"] = [1, 2, 1e308]
    write("plan-json", "regression-float-operand.json", json.dumps(plan))
    plan = tiny_plan()
    # A stand-in for the 1 MB chain that overflowed the stack: > 1024 bytes.
    plan["buffers"][1]["shape"] = ["B", "L", "1" + "+1" * 600]
    write("plan-json", "regression-long-expression.json", json.dumps(plan))
    plan = tiny_plan()
    plan["buffers"][2]["shape"] = [4294967296, 4294967296]
    write("plan-json", "regression-weight-numel-overflow.json", json.dumps(plan))
    write("artifact", "regression-weight-numel-overflow.qmb", qmb(plan, [
        ("weights/s", "F32", [4], struct.pack("<4f", 1, 2, 3, 4)),
        ("kernels/quantize_inner4.ptx", "U8", [12], b".version 9.0"),
    ]))


def split_cases(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\{-#.*?#-\}", "", text, flags=re.S)
    for case in text.split("// -----"):
        lines = [l for l in case.splitlines() if not l.lstrip().startswith("//")]
        body = "\n".join(l for l in lines if l.strip()) + "\n"
        if body.strip():
            yield body


def ir_seeds():
    inputs = [os.path.join(ROOT, "test", "Dialect", "Mamba", n)
              for n in ("ops.mlir", "config.mlir", "invalid.mlir")]
    passes = os.path.join(ROOT, "test", "Passes")
    inputs += sorted(os.path.join(passes, n) for n in os.listdir(passes) if n.endswith(".mlir"))
    for path in inputs:
        stem = os.path.splitext(os.path.basename(path))[0]
        for i, case in enumerate(split_cases(path)):
            if len(case) <= 8192:
                write("ir-parser", "%s-%03d.mlir" % (stem, i), case)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neox")
    parser.add_argument("--qmb")
    args = parser.parse_args()
    safetensors_seeds()
    config_seeds()
    tokenizer_seeds(args.neox)
    plan_seeds(args.qmb)
    ir_seeds()


if __name__ == "__main__":
    main()
