"""Rewrites one __metadata__ entry of a model.qmb (a safetensors file), keeping
the file valid otherwise: set_qmb_metadata.py IN OUT KEY VALUE. KEY 'plan-op'
renames the first launch's op in the plan instead."""
import json
import struct
import sys

src, dst, key, value = sys.argv[1:5]
data = open(src, "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
meta = header["__metadata__"]
if key == "plan-op":
    plan = json.loads(meta["plan"])
    plan["entries"][0]["launches"][0]["op"] = value
    meta["plan"] = json.dumps(plan)
else:
    meta[key] = value
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
