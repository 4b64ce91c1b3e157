#!/usr/bin/env bash
# CPU speed of the bundled models through quamba-interpret (the IR interpreter over
# the reference kernels): prefill tokens/s (1024-token windows of the bundled
# held-out text) and decode tokens/s (256 greedy tokens), median of 3 runs.
#   scripts/bench-cpu.sh [MODEL_DIR...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${BUILD_DIR:-$root/build}/bin"
models=("$@")
[ ${#models[@]} -eq 0 ] && models=("$root/models/mamba2-bytes-6m" "$root/models/mamba1-bytes-3m")
text=$(mktemp)
trap 'rm -f "$text"' EXIT
head -c 16384 "$root/models/austen-heldout.txt" > "$text"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

printf "%-20s %14s %14s\n" model "prefill tok/s" "decode tok/s"
for model in "${models[@]}"; do
  "$bin/quamba-interpret" "$model" --ppl "$text" --json >/dev/null 2>&1 # warm-up
  prefill=$(for i in 1 2 3; do "$bin/quamba-interpret" "$model" --ppl "$text" --json 2>/dev/null | field tokens_per_s; done | median)
  decode=$(for i in 1 2 3; do "$bin/quamba-interpret" "$model" --prompt "The whale" --max-tokens 256 --json 2>/dev/null | field decode_tokens_per_s; done | median)
  printf "%-20s %14.0f %14.0f\n" "$(basename "$model")" "$prefill" "$decode"
done
