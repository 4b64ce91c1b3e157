#!/usr/bin/env python3
"""Checks the weights of an imported model (text IR) against its checkpoint.

    check_resources.py MODEL.mlir CKPT_DIR [--ignore NAME ...]

For every checkpoint tensor (bar the --ignore'd ones, e.g. a tied lm_head the
file stores anyway) the IR must hold exactly one dense_resource blob of that
name (backbone.embedding.* spelled backbone.embeddings.*) whose
  * bytes equal the tensor's bytes, or, for A_log, D, dt_bias and
    dt_proj.bias, the exact f32 upcast of the tensor;
  * alignment prefix is the element size (4 for the upcast ones);
  * constant type is tensor<SHAPE x T> with T = f32 / f16 / bf16 after the
    same rule, and SHAPE the tensor's ([C, 1, K] conv weights as [C, K]).
No other resource may exist. Prints "checked N weights" on success.
The checkpoint is read by mutate_checkpoint.py's own safetensors reader, not
by project code.
"""

import os
import re
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutate_checkpoint as mc  # noqa: E402

UPCAST_SUFFIXES = (".mixer.A_log", ".mixer.D", ".mixer.dt_bias", ".mixer.dt_proj.bias")
ELEMENT = {"F32": "f32", "F16": "f16", "BF16": "bf16"}


def canonical(name):
    prefix = "backbone.embedding."
    return "backbone.embeddings." + name[len(prefix):] if name.startswith(prefix) else name


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ir_path, ckpt = argv[0], argv[1]
    ignored = set()
    rest = argv[2:]
    while rest:
        if rest[0] != "--ignore" or len(rest) < 2:
            print(f"unexpected argument {rest[0]!r}", file=sys.stderr)
            return 2
        ignored.add(rest[1])
        rest = rest[2:]

    text = open(ir_path, encoding="utf-8").read()
    blobs = {}
    for name, hexdata in re.findall(r'^\s*([\w.]+): "0x([0-9A-Fa-f]*)"', text, re.M):
        if name in blobs:
            raise SystemExit(f"resource {name} appears twice")
        blobs[name] = bytes.fromhex(hexdata)
    types = {}
    for name, shape, element in re.findall(
            r"dense_resource<([\w.]+)> : tensor<((?:\d+x)*)(\w+)>", text):
        dims = [int(d) for d in shape.split("x") if d]
        if types.setdefault(name, (dims, element)) != (dims, element):
            raise SystemExit(f"resource {name} is used with two types")

    errors = []
    checked = 0
    for name, dtype, shape, data in mc.read_checkpoint(ckpt):
        if name in ignored:
            continue
        key = canonical(name)
        if key not in blobs:
            errors.append(f"{key}: no resource in the IR")
            continue
        blob = blobs.pop(key)
        upcast = key.endswith(UPCAST_SUFFIXES)
        if upcast:
            expected = mc.convert(data, dtype, "F32", mc.numel(shape))
            if expected is None:
                errors.append(f"{key}: cannot upcast {dtype}")
                continue
            element, align = "f32", 4
        else:
            expected = data
            element, align = ELEMENT.get(dtype, "?"), mc.DTYPE_BITS[dtype] // 8
        (got_align,) = struct.unpack("<I", blob[:4])
        if got_align != align:
            errors.append(f"{key}: alignment {got_align}, expected {align}")
        if blob[4:] != expected:
            errors.append(f"{key}: {len(blob) - 4} bytes differ from the checkpoint's "
                          f"{len(expected)} ({'upcast ' if upcast else ''}{dtype})")
        want_shape = shape[:1] + shape[2:] if len(shape) == 3 and shape[1] == 1 else shape
        if types.get(key) != (want_shape, element):
            errors.append(f"{key}: IR type {types.get(key)}, expected "
                          f"{(want_shape, element)}")
        checked += 1
    for key in sorted(blobs):
        errors.append(f"{key}: resource without a checkpoint tensor")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    print(f"checked {checked} weights")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
