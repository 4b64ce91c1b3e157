#!/usr/bin/env bash
# The demo: sets up, builds, imports the bundled byte-level Mamba2 into the
# mamba dialect, prints its summary, generates from a prompt on the CPU and
# measures bits per byte on the bundled held-out text. (Quantization and the
# GPU binary join the demo as they land; see the README.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null

build="${BUILD_DIR:-$root/build}"
bin="$build/bin"
ckpt="$root/models/mamba2-bytes-6m"
text="$root/models/austen-heldout.txt"
mkdir -p "$build/demo"
model="$build/demo/mamba2-bytes-6m.mlirbc"

echo "== quamba-import models/mamba2-bytes-6m -o $model"
"$bin/quamba-import" "$ckpt" -o "$model"

echo
echo "== quamba-opt --quamba-print-model-summary"
"$bin/quamba-opt" "$model" --quamba-print-model-summary -o /dev/null 2>&1

echo
echo "== quamba-run --prompt (CPU, greedy)"
"$bin/quamba-run" "$model" --prompt "It is a truth universally acknowledged, that" --max-tokens 160

echo
echo "== quamba-run --ppl models/austen-heldout.txt (CPU; text the model never saw)"
"$bin/quamba-run" "$model" --ppl "$text"
