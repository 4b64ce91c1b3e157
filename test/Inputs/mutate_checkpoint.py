#!/usr/bin/env python3
"""Writes a modified copy of a checkpoint directory, for the importer's tests.

    mutate_checkpoint.py SRC DST [OPTION ...]

SRC holds config.json and model.safetensors (or a sharded index). DST is
created (it must not exist, or be empty) and receives config.json and the
weights; nothing else is copied. This script parses and writes safetensors
with its own code (Python stdlib only): it is an oracle independent of the
project's reader and writer.

Tensor and config options are applied in the order given:

  --drop NAME                 remove a tensor
  --rename OLD NEW            rename a tensor
  --reshape NAME d0,d1,...    new shape ("" for a scalar); the bytes are kept
                              when the size matches, else zeros of the new size
  --retype NAME DTYPE         F32 -> F16 / BF16 and F16 / BF16 -> F32 convert
                              the values (round to nearest even); any other
                              pair only relabels the dtype and keeps the bytes
  --relabel NAME DTYPE        change the dtype label only, keeping the bytes
                              (the header may then contradict the data size)
  --retype-all F16|BF16|F32   --retype every tensor (an error for a dtype pair
                              that cannot be converted)
  --set NAME INDEX VALUE      set the element at flat (row-major) INDEX of an
                              F32 / F16 / BF16 tensor to VALUE: a number, nan,
                              inf or -inf (rounded to nearest even)
  --add NAME DTYPE d0,d1,... [--from OTHER]
                              add a tensor: OTHER's bytes (converted as by
                              --retype if the dtypes differ), else zeros
  --config KEY=JSON           set a top-level config key (JSON value; bare
                              Infinity / NaN are accepted and written back)
  --config-del KEY            delete a top-level config key
  --ssm-cfg KEY=JSON          set a key of the state-spaces "ssm_cfg" object
  --ssm-cfg-del KEY           delete a key of "ssm_cfg"
  --raw-config TEXT           write config.json verbatim (later --config
                              options need TEXT to be JSON)

Output options (they apply to the whole write, wherever they appear):

  --shards N                  write model-0000k-of-0000N.safetensors and
                              model.safetensors.index.json
  --truncate BYTES            cut the written model.safetensors to BYTES
  --header-pad N              pad the header with exactly N spaces instead of
                              up to a multiple of 8 (0: unpadded, as MLX
                              writes; the tensors may then be misaligned)
  --corrupt-header TEXT       use TEXT as the header of model.safetensors
                              (no padding; the length prefix is fixed up; the
                              data buffer is kept as written)

The safetensors files are written as the reference writer does: an 8-byte
little-endian header length, a compact JSON header with
__metadata__ {"format":"pt"} first, padded with spaces so the data starts at a
multiple of 8, tensors ordered by element size (widest first) then by name,
with contiguous offsets.
"""

import json
import os
import struct
import sys

# Element size in bits, as the safetensors format defines the dtypes.
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "U16": 16, "I32": 32, "U32": 32,
    "I64": 64, "U64": 64, "F16": 16, "BF16": 16, "F32": 32, "F64": 64,
    "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "C64": 64,
}
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
MAX_HEADER = 100_000_000


class Error(Exception):
    pass


def fail(message):
    raise Error(message)


# ---------------------------------------------------------------------------
# Sizes and float conversion
# ---------------------------------------------------------------------------

def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def byte_size(dtype, shape):
    """Dense byte size of a tensor; None for a dtype this script doesn't know."""
    bits = DTYPE_BITS.get(dtype)
    if bits is None:
        return None
    total = numel(shape) * bits
    if total % 8:
        fail(f"{dtype} {shape} is {total} bits, not a whole number of bytes")
    return total // 8


def f32_to_bf16_bits(u):
    """The bf16 nearest to the f32 with bits `u`, ties to even."""
    if (u & 0x7FFFFFFF) > 0x7F800000:  # NaN: keep it a (quiet) NaN
        return ((u >> 16) | 0x0040) & 0xFFFF
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def f32_to_f16(value):
    try:
        return struct.pack("<e", value)  # rounds to nearest even
    except OverflowError:  # beyond the largest finite half after rounding
        return struct.pack("<H", 0xFC00 if value < 0 else 0x7C00)


def convert(data, src, dst, count):
    """`data` (count elements of src) as dst, or None for a non-conversion."""
    if src == dst:
        return data
    if src == "F32" and dst in ("F16", "BF16"):
        if dst == "BF16":
            words = struct.unpack(f"<{count}I", data)
            return struct.pack(f"<{count}H", *(f32_to_bf16_bits(u) for u in words))
        values = struct.unpack(f"<{count}f", data)
        return b"".join(f32_to_f16(v) for v in values)
    if src == "F16" and dst == "F32":
        return struct.pack(f"<{count}f", *struct.unpack(f"<{count}e", data))
    if src == "BF16" and dst == "F32":
        halves = struct.unpack(f"<{count}H", data)
        return struct.pack(f"<{count}I", *(h << 16 for h in halves))
    return None


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def read_safetensors(path):
    """[(name, dtype, shape, bytes)] in file order, after checking the file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail(f"{path}: {len(blob)} bytes, too short for a header length")
    (length,) = struct.unpack("<Q", blob[:8])
    if length > MAX_HEADER or 8 + length > len(blob):
        fail(f"{path}: bad header length {length}")
    header = json.loads(blob[8:8 + length].decode("utf-8"))
    data = blob[8 + length:]
    tensors = []
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = entry["dtype"], list(entry["shape"])
        begin, end = entry["data_offsets"]
        size = byte_size(dtype, shape)
        if size is None or end - begin != size or end > len(data):
            fail(f"{path}: tensor {name!r}: bad dtype, shape or offsets")
        tensors.append((name, dtype, shape, data[begin:end]))
        spans.append((begin, end))
    spans.sort()
    cursor = 0
    for begin, end in spans:
        if begin != cursor:
            fail(f"{path}: offsets do not tile the data buffer")
        cursor = end
    if cursor != len(data):
        fail(f"{path}: trailing bytes after the last tensor")
    return tensors


def read_checkpoint(src):
    index = os.path.join(src, INDEX_NAME)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = []
        for shard in sorted(set(weight_map.values())):
            tensors += read_safetensors(os.path.join(src, shard))
        return tensors
    return read_safetensors(os.path.join(src, SINGLE_NAME))


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def serialize(tensors, header_text=None, header_pad=None):
    """The safetensors bytes of `tensors` ({name: (dtype, shape, bytes)})."""
    def order(name):
        bits = DTYPE_BITS.get(tensors[name][0], 0)
        return (-bits, name)

    names = sorted(tensors, key=order)
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name in names:
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    if header_text is None:
        text = json.dumps(header, separators=(",", ":")).encode("utf-8")
        if header_pad is None:
            header_pad = (8 - (8 + len(text)) % 8) % 8
        text += b" " * header_pad
    else:
        text = header_text.encode("utf-8")
    return struct.pack("<Q", len(text)) + text + b"".join(tensors[n][2] for n in names)


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_checkpoint(dst, config_text, tensors, shards, truncate, header_text,
                     header_pad):
    write_file(os.path.join(dst, "config.json"), config_text.encode("utf-8"))
    if shards is None:
        data = serialize(tensors, header_text, header_pad)
        if truncate is not None:
            if truncate > len(data):
                fail(f"--truncate {truncate}: the file is only {len(data)} bytes")
            data = data[:truncate]
        write_file(os.path.join(dst, SINGLE_NAME), data)
        return
    if truncate is not None or header_text is not None or header_pad is not None:
        fail("--truncate, --header-pad and --corrupt-header apply to "
             "model.safetensors, not to shards")
    names = sorted(tensors)
    if not 1 <= shards <= len(names):
        fail(f"--shards {shards}: needs between 1 and {len(names)} shards")
    weight_map = {}
    total = 0
    for k in range(shards):
        part = names[k * len(names) // shards:(k + 1) * len(names) // shards]
        shard_name = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        write_file(os.path.join(dst, shard_name),
                   serialize({n: tensors[n] for n in part}))
        for n in part:
            weight_map[n] = shard_name
            total += len(tensors[n][2])
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write_file(os.path.join(dst, INDEX_NAME),
               (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------

def parse_shape(text):
    if text.strip() == "":
        return []
    try:
        shape = [int(d) for d in text.split(",")]
    except ValueError:
        fail(f"bad shape {text!r}: expected d0,d1,...")
    if any(d < 0 for d in shape):
        fail(f"bad shape {text!r}: negative dimension")
    return shape


def parse_assignment(option, text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        fail(f"{option} {text!r}: expected KEY=JSONVALUE")
    try:
        return key, json.loads(value)
    except ValueError as e:
        fail(f"{option} {text!r}: the value is not JSON ({e})")


class Checkpoint:
    def __init__(self, config_text, tensors):
        self.config_text = config_text
        self.tensors = {name: (dtype, shape, data) for name, dtype, shape, data in tensors}

    # Config -----------------------------------------------------------------
    def config(self):
        try:
            return json.loads(self.config_text)
        except ValueError as e:
            fail(f"config.json is not JSON ({e}); cannot edit it")

    def set_config(self, config):
        self.config_text = json.dumps(config, indent=2) + "\n"

    def config_set(self, text):
        key, value = parse_assignment("--config", text)
        config = self.config()
        config[key] = value
        self.set_config(config)

    def config_del(self, key):
        config = self.config()
        if key not in config:
            fail(f"--config-del {key}: no such key")
        del config[key]
        self.set_config(config)

    def ssm_cfg_set(self, text):
        key, value = parse_assignment("--ssm-cfg", text)
        config = self.config()
        ssm = config.setdefault("ssm_cfg", {})
        if not isinstance(ssm, dict):
            fail("--ssm-cfg: \"ssm_cfg\" is not an object")
        ssm[key] = value
        self.set_config(config)

    def ssm_cfg_del(self, key):
        config = self.config()
        ssm = config.get("ssm_cfg")
        if not isinstance(ssm, dict) or key not in ssm:
            fail(f"--ssm-cfg-del {key}: no such key in ssm_cfg")
        del ssm[key]
        self.set_config(config)

    # Tensors ----------------------------------------------------------------
    def get(self, option, name):
        if name not in self.tensors:
            fail(f"{option} {name}: no such tensor")
        return self.tensors[name]

    def drop(self, name):
        self.get("--drop", name)
        del self.tensors[name]

    def rename(self, old, new):
        entry = self.get("--rename", old)
        if new in self.tensors:
            fail(f"--rename {old} {new}: {new} exists")
        del self.tensors[old]
        self.tensors[new] = entry

    def reshape(self, name, shape_text):
        dtype, _, data = self.get("--reshape", name)
        shape = parse_shape(shape_text)
        size = byte_size(dtype, shape)
        if size is None:
            fail(f"--reshape {name}: unknown dtype {dtype}")
        self.tensors[name] = (dtype, shape, data if len(data) == size else bytes(size))

    def relabel(self, name, dtype):
        _, shape, data = self.get("--relabel", name)
        self.tensors[name] = (dtype, shape, data)

    def retype(self, name, dtype):
        src, shape, data = self.get("--retype", name)
        converted = convert(data, src, dtype, numel(shape))
        self.tensors[name] = (dtype, shape, data if converted is None else converted)

    def retype_all(self, dtype):
        if dtype not in ("F16", "BF16", "F32"):
            fail(f"--retype-all {dtype}: expected F16, BF16 or F32")
        for name in list(self.tensors):
            src, shape, data = self.tensors[name]
            converted = convert(data, src, dtype, numel(shape))
            if converted is None:
                fail(f"--retype-all {dtype}: cannot convert {name} from {src}")
            self.tensors[name] = (dtype, shape, converted)

    def set_element(self, name, index_text, value_text):
        dtype, shape, data = self.get("--set", name)
        try:
            index, value = int(index_text), float(value_text)
        except ValueError:
            fail(f"--set {name} {index_text} {value_text}: expected an integer "
                 "index and a float value")
        if not 0 <= index < numel(shape):
            fail(f"--set {name}: index {index} is outside its {numel(shape)} elements")
        encoded = convert(struct.pack("<f", value), "F32", dtype, 1)
        if encoded is None:
            fail(f"--set {name}: cannot write a float into a {dtype} tensor")
        size = len(encoded)
        self.tensors[name] = (dtype, shape,
                              data[:index * size] + encoded + data[(index + 1) * size:])

    def add(self, name, dtype, shape_text, source):
        if name in self.tensors:
            fail(f"--add {name}: the tensor exists")
        shape = parse_shape(shape_text)
        size = byte_size(dtype, shape)
        if size is None:
            fail(f"--add {name}: unknown dtype {dtype} (use --relabel after)")
        if source is None:
            data = bytes(size)
        else:
            src, src_shape, src_data = self.get("--from", source)
            if numel(src_shape) != numel(shape):
                fail(f"--add {name} --from {source}: {numel(src_shape)} elements, "
                     f"not {numel(shape)}")
            data = convert(src_data, src, dtype, numel(shape))
            if data is None:
                fail(f"--add {name} --from {source}: cannot convert {src} to {dtype}")
        self.tensors[name] = (dtype, shape, data)


def main(argv):
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    src, dst, args = argv[0], argv[1], argv[2:]
    if not os.path.isdir(src):
        fail(f"{src}: not a directory")
    if os.path.exists(dst) and (not os.path.isdir(dst) or os.listdir(dst)):
        fail(f"{dst}: exists and is not an empty directory")

    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        checkpoint = Checkpoint(f.read(), read_checkpoint(src))

    shards = truncate = header_text = header_pad = None
    arity = {"--drop": 1, "--rename": 2, "--reshape": 2, "--retype": 2,
             "--relabel": 2, "--retype-all": 1, "--set": 3, "--add": 3, "--config": 1,
             "--config-del": 1, "--ssm-cfg": 1, "--ssm-cfg-del": 1,
             "--raw-config": 1, "--shards": 1, "--truncate": 1, "--header-pad": 1,
             "--corrupt-header": 1}
    i = 0
    while i < len(args):
        option = args[i]
        if option not in arity:
            fail(f"unknown option {option!r}")
        values = args[i + 1:i + 1 + arity[option]]
        if len(values) != arity[option]:
            fail(f"{option} needs {arity[option]} argument(s)")
        i += 1 + arity[option]
        if option == "--drop":
            checkpoint.drop(*values)
        elif option == "--rename":
            checkpoint.rename(*values)
        elif option == "--reshape":
            checkpoint.reshape(*values)
        elif option == "--retype":
            checkpoint.retype(*values)
        elif option == "--relabel":
            checkpoint.relabel(*values)
        elif option == "--retype-all":
            checkpoint.retype_all(*values)
        elif option == "--set":
            checkpoint.set_element(*values)
        elif option == "--add":
            source = None
            if i < len(args) and args[i] == "--from":
                if i + 1 >= len(args):
                    fail("--from needs a tensor name")
                source = args[i + 1]
                i += 2
            checkpoint.add(*values, source)
        elif option == "--config":
            checkpoint.config_set(*values)
        elif option == "--config-del":
            checkpoint.config_del(*values)
        elif option == "--ssm-cfg":
            checkpoint.ssm_cfg_set(*values)
        elif option == "--ssm-cfg-del":
            checkpoint.ssm_cfg_del(*values)
        elif option == "--raw-config":
            checkpoint.config_text = values[0]
        elif option == "--shards":
            shards = int(values[0])
        elif option == "--truncate":
            truncate = int(values[0])
            if truncate < 0:
                fail("--truncate needs a non-negative byte count")
        elif option == "--header-pad":
            header_pad = int(values[0])
            if header_pad < 0:
                fail("--header-pad needs a non-negative count")
        elif option == "--corrupt-header":
            header_text = values[0]

    os.makedirs(dst, exist_ok=True)
    write_checkpoint(dst, checkpoint.config_text, checkpoint.tensors, shards,
                     truncate, header_text, header_pad)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Error as e:
        print(f"mutate_checkpoint.py: error: {e}", file=sys.stderr)
        sys.exit(1)
