#!/usr/bin/env bash
# The GPU acceptance checks, run on the GPU machine with what
# scripts/device-bundle.sh built here and carried in .device/ (that machine
# has no MLIR): 
#   1. the GPU lit suite (test/GPU, lit feature `cuda`);
#   2. every launch of every carried model on CUDA vs the CPU reference
#      kernels, fresh random inputs (quamba-run --check-kernels);
#   3. end to end, every model: logits and 64 greedy tokens, CUDA vs CPU
#      (quamba-run --compare-devices);
#   4. compute-sanitizer: memcheck on every model, racecheck, synccheck and
#      initcheck on one, over a prefill and a burst of greedy decodes.
# Prints a summary table last; logs go to $GPU_CHECK_LOGS (default .device/logs). The models
# are .device/models/<group>/*.qmb; carry the groups that fit one call.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle="$root/.device"
run="$bundle/bin/quamba-run"
logs="${GPU_CHECK_LOGS:-$bundle/logs}"
mkdir -p "$logs"
[ -x "$run" ] || { echo "gpu-check: $run missing; run scripts/device-bundle.sh here first and carry .device" >&2; exit 2; }

card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}; date: $(date -u +%F); bundle: $(tr '\n' ' ' < "$bundle/MANIFEST")"
summary=()
status=0
row() { summary+=("$(printf '%-34s %-8s %s' "$1" "$2" "$3")"); [ "$2" = ok ] || [ "$2" = skip ] || status=1; }

# 1. GPU lit suite (needs models/tiny; GPU_CHECK_LIT=0 skips it).
if [ "${GPU_CHECK_LIT:-1}" = 0 ]; then
  row "lit test/GPU" skip "GPU_CHECK_LIT=0"
elif QUAMBA_RUN="$run" QUAMBA_LIB="$bundle/lib/libquamba.so" QUAMBA_MODELS="$bundle/models/tiny" python3 -c "import sys; sys.path.insert(0, '$bundle/lit'); from lit.main import main; main()" -sv \
    "$root/test/GPU" > "$logs/lit.log" 2>&1; then
  row "lit test/GPU" ok "$(grep -E 'Passed|Failed' "$logs/lit.log" | tr -s ' ' | tr '\n' ' ')"
else
  row "lit test/GPU" FAIL "see lit.log: $(grep -E 'Passed|Failed' "$logs/lit.log" | tr -s ' ' | tr '\n' ' ')"
fi

# 2 and 3, per model.
# 150 tokens: the chunked SSD scan's two whole chunks of 64 and a partial one.
for qmb in $(find "$bundle/models" -name "*.qmb" | sort); do
  name=$(basename "$qmb" .qmb)
  if "$run" "$qmb" --check-kernels --batch 2 --seqlen 150 --seed "$RANDOM" > "$logs/$name.kernels.log" 2>&1; then
    row "$name kernels" ok "$(tail -1 "$logs/$name.kernels.log" | sed 's/.*launches/launches/')"
  else
    row "$name kernels" FAIL "$(tail -1 "$logs/$name.kernels.log")"
  fi
  if "$run" "$qmb" --compare-devices --max-tokens 64 > "$logs/$name.e2e.json" 2>&1; then
    verdict=ok
  else
    verdict=FAIL
  fi
  detail=$(python3 -c 'import json,sys
try:
  r=json.load(open(sys.argv[1]))
  print("prefill max|dlogit| %.2e, decode %.2e, greedy %d/%d same" % (r["prefill_max_abs"], r["decode_max_abs"], r["tokens_agree"], r["greedy_tokens"]))
except Exception as e: print(open(sys.argv[1]).read().strip()[-200:])' "$logs/$name.e2e.json")
  row "$name end-to-end" "$verdict" "$detail"
done

# 4. compute-sanitizer over a prefill and 16 greedy decodes (a burst of the
# device-side decode loop, CUDA graphs replayed): memcheck on every mode of
# the bundled models, then racecheck, synccheck and initcheck on one
# quantized model.
sanitize() { # tool, model
  local tool=$1 qmb=$2 name log rc errors
  name=$(basename "$qmb" .qmb)
  log="$logs/sanitizer-$tool-$name.log"
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$run" "$qmb" --device cuda \
    --prompt "The whale" --max-tokens 17 > "$log" 2>&1
  rc=$?
  errors=$(grep -oE '(ERROR|RACECHECK|SYNCCHECK|INITCHECK) SUMMARY: .*' "$log" | tail -1)
  [ $rc = 0 ] && row "sanitizer $tool $name" ok "${errors:-no summary}" \
              || row "sanitizer $tool $name" FAIL "rc $rc ${errors}"
}
sanitized="$bundle/models/tiny/tiny2-w4a8.qmb"
[ -f "$bundle/models/mamba2-6m/mamba2-6m-w8a8.qmb" ] && sanitized="$bundle/models/mamba2-6m/mamba2-6m-w8a8.qmb"
if command -v compute-sanitizer >/dev/null; then
  # The bundled models in every mode (else the tiny fixtures); files over
  # 100 MB (the big --no-weights shapes) only with GPU_CHECK_SANITIZE=all.
  models=$(find "$bundle/models" -path "*/mamba*" -name "*.qmb" | sort)
  [ -n "$models" ] || models=$(find "$bundle/models" -name "*.qmb" | sort)
  for qmb in $models; do
    size=$(stat -c %s "$qmb")
    [ "${GPU_CHECK_SANITIZE:-}" = all ] || [ "$size" -lt 100000000 ] || continue
    sanitize memcheck "$qmb"
  done
  for tool in racecheck synccheck initcheck; do
    sanitize "$tool" "$sanitized"
  done
else
  row "compute-sanitizer" FAIL "not on PATH"
fi

echo
echo "== gpu-check summary (${card:-unknown}, $(date -u +%F))"
printf '%s\n' "${summary[@]}"
exit $status
