"""Prints each tensor of a safetensors file as `name DTYPE [d0, d1, ...]`,
read from the header by the format's definition (an independent reader)."""
import json
import struct
import sys

with open(sys.argv[1], "rb") as f:
    (size,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(size))
for name, info in sorted(header.items()):
    if name != "__metadata__":
        print(f"{name} {info['dtype']} [{', '.join(str(d) for d in info['shape'])}]")
