#!/usr/bin/env bash
# The demo: sets up, builds, imports the bundled Mamba2 checkpoint into the
# mamba dialect and prints a summary of its IR. (Quantization, compilation to
# model.qmb and generation join the demo as they land; see the README.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null

bin="${BUILD_DIR:-$root/build}/bin"
ckpt="$root/test/fixtures/tiny_mamba2_g2_hf"
out="${BUILD_DIR:-$root/build}/demo"
mkdir -p "$out"

echo "== quamba-import $ckpt -o $out/model.mlirbc"
"$bin/quamba-import" "$ckpt" -o "$out/model.mlirbc"

echo "== quamba-opt --quamba-print-model-summary"
"$bin/quamba-opt" "$out/model.mlirbc" --quamba-print-model-summary -o /dev/null 2>&1

echo "== the first layer of @decode (weights elided)"
"$bin/quamba-opt" "$out/model.mlirbc" --mlir-elide-resource-strings-if-larger=16 \
  | sed -n '/func.func @decode/,/mamba.rms_norm.*residual/p' | grep -v "arith.constant"
