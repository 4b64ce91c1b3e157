#!/usr/bin/env bash
# The speed table, on the GPU machine: quamba-run --bench over model.qmb files
# (default: every .device/models/*/*.qmb carried there), then a Markdown table
# with the roofline beside each measured TPOT.
#   scripts/bench.sh [MODEL.qmb ...]
# Environment: BENCH_BATCH (1,16,64), BENCH_PROMPT (1024), BENCH_TOKENS (128),
# BENCH_REPS (5), BENCH_OUT (JSON lines, default .device/bench.jsonl),
# QUAMBA_RUN (default .device/bin/quamba-run), BENCH_DEVICE (cuda).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run=${QUAMBA_RUN:-$root/.device/bin/quamba-run}
out=${BENCH_OUT:-$root/.device/bench.jsonl}
[ -x "$run" ] || { echo "bench.sh: $run missing; run scripts/device-bundle.sh here first and carry .device" >&2; exit 2; }
models=("$@")
[ ${#models[@]} -gt 0 ] || mapfile -t models < <(find "$root/.device/models" -name "*.qmb" | sort)
[ ${#models[@]} -gt 0 ] || { echo "bench.sh: no model.qmb given or carried" >&2; exit 2; }
card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
echo "card: ${card:-unknown}; date: $(date -u +%F)" >&2
: > "$out"
for m in "${models[@]}"; do
  echo "== $(basename "$m")" >&2
  "$run" "$m" --device "${BENCH_DEVICE:-cuda}" --bench --batch "${BENCH_BATCH:-1,16,64}" \
    --prompt-len "${BENCH_PROMPT:-1024}" --max-tokens "${BENCH_TOKENS:-128}" --reps "${BENCH_REPS:-5}" >> "$out"
done
python3 - "$out" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| model | batch | TTFT | TPOT | roofline TPOT | % of roofline | weights | peak device memory | copy GB/s |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {os.path.basename(r['model'])} | {r['batch']} | {r['ttft_ms']:.1f} ms | {r['tpot_ms']:.3f} ms | "
          f"{r['roofline_tpot_ms']:.3f} ms | {100 * r['roofline_fraction']:.1f} % | {r['weight_bytes'] / 2**20:.0f} MiB | "
          f"{r['peak_device_bytes'] / 2**20:.0f} MiB | {r['copy_bandwidth_gbs']:.0f} |")
PY
