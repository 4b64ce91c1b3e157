#!/usr/bin/env bash
# The demo: sets up, builds, compiles the bundled byte-level Mamba2 with
# Quamba2 W8A8 into one GPU binary (model.qmb), and runs it: generation from
# a prompt and bits per byte on held-out text. quamba-run uses the GPU when
# there is one and the CPU reference backend otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null

build="${BUILD_DIR:-$root/build}"
bin="$build/bin"
ckpt="$root/models/mamba2-bytes-6m"
text="$root/models/austen-heldout.txt"
mkdir -p "$build/demo"
model="$build/demo/mamba2-bytes-6m-w8a8.qmb"

echo "== quamba-opt --quamba-print-model-summary (the imported model)"
"$bin/quamba-import" "$ckpt" -o "$build/demo/mamba2-bytes-6m.mlirbc"
"$bin/quamba-opt" "$build/demo/mamba2-bytes-6m.mlirbc" --quamba-print-model-summary -o /dev/null 2>&1

echo
echo "== quamba-compile models/mamba2-bytes-6m --mode w8a8 -o $model"
"$bin/quamba-compile" "$ckpt" --mode w8a8 --calib "$root/models/calibration-mix.txt" \
  --samples 8 --seqlen 256 -o "$model"

echo
echo "== quamba-run model.qmb --prompt (greedy)"
"$bin/quamba-run" "$model" --prompt "It is a truth universally acknowledged, that" --max-tokens 160

echo
echo "== quamba-run model.qmb --ppl models/austen-heldout.txt (text the model never saw)"
head -c 20000 "$text" > "$build/demo/austen-20k.txt"
"$bin/quamba-run" "$model" --ppl "$build/demo/austen-20k.txt"
