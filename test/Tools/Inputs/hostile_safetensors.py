#!/usr/bin/env python3
"""Writes a small safetensors file whose header claims far more data than the
file holds, for the hostile-input tests (docs/robustness.md).

    hostile_safetensors.py header-length LENGTH OUT
        an 8-byte header length of LENGTH followed by a 16-byte header "{}"
        padded with spaces: the file is 24 bytes whatever LENGTH claims
    hostile_safetensors.py tensor NAME DTYPE d0,d1,... FILE_SIZE OUT
        a well-formed header with one tensor of that dtype and shape, its
        data_offsets [0, its dense size], then zero bytes up to FILE_SIZE

The bytes are built here from the format's definition (stdlib only), not by
project code.
"""

import json
import struct
import sys

BYTES_PER_ELEMENT = {"F32": 4, "F16": 2, "BF16": 2, "U8": 1}


def main(argv):
    if argv[:1] == ["header-length"] and len(argv) == 3:
        length, out = int(argv[1]), argv[2]
        data = struct.pack("<Q", length) + b"{}".ljust(16)
    elif argv[:1] == ["tensor"] and len(argv) == 6:
        name, dtype, shape_text, file_size, out = argv[1:]
        shape = [int(d) for d in shape_text.split(",")]
        size = BYTES_PER_ELEMENT[dtype]
        for d in shape:
            size *= d
        header = json.dumps({name: {"dtype": dtype, "shape": shape,
                                    "data_offsets": [0, size]}},
                            separators=(",", ":")).encode()
        header += b" " * ((8 - len(header) % 8) % 8)
        data = struct.pack("<Q", len(header)) + header
        if len(data) > int(file_size):
            sys.exit(f"hostile_safetensors.py: the header alone is {len(data)} bytes")
        data += bytes(int(file_size) - len(data))
    else:
        sys.exit(__doc__)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
