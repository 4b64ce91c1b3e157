#!/usr/bin/env bash
# Builds the libFuzzer targets (scripts/build.sh --fuzz, build-fuzz/) and runs
# each on a scratch copy of its seed corpus (fuzz/corpus/<target>/ is never
# written), printing executions, exec/s and coverage.
#   scripts/fuzz.sh                     every target, 60 s each
#   scripts/fuzz.sh TARGET [SECONDS]    one target (or "all")
# Targets: safetensors config-json tokenizer-json tokenizer-encode plan-json
# artifact ir-parser. Exits non-zero when a target finds a crash, a sanitizer
# report, a timeout (> 30 s) or an out-of-memory input; the input is kept
# (its path is printed). FUZZ_WORK names the scratch directory (default: a
# new one under /tmp, removed after a run without findings), FUZZ_BUILD_DIR
# the build; extra libFuzzer flags go in FUZZ_FLAGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

all=(safetensors config-json tokenizer-json tokenizer-encode plan-json artifact ir-parser)
which=${1:-all}
seconds=${2:-60}
if [ "$which" = all ]; then
  targets=("${all[@]}")
else
  case " ${all[*]} " in
    *" $which "*) targets=("$which") ;;
    *) echo "fuzz.sh: unknown target '$which' (one of: ${all[*]}, all)" >&2; exit 2 ;;
  esac
fi

build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
BUILD_DIR=$build_dir "$root/scripts/build.sh" --fuzz
bin=$build_dir/bin
work=${FUZZ_WORK:-}
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/quamba-fuzz.XXXXXX)
  scratch=$work # removed again unless it holds a finding
fi

# The JSON-based targets share dictionaries with their format's neighbours.
dict_of() {
  case "$1" in
    safetensors) echo safetensors.dict ;;
    config-json) echo config-json.dict ;;
    tokenizer-json) echo tokenizer-json.dict ;;
    plan-json | artifact) echo plan-json.dict ;;
    ir-parser) echo mlir.dict ;;
    *) echo "" ;;
  esac
}

# MLIR keeps process-lifetime allocations that LeakSanitizer would report on
# exit; the parsers of runtime/ must not leak, so only ir-parser skips it.
leaks_of() { [ "$1" = ir-parser ] && echo 0 || echo 1; }

failed=()
for target in "${targets[@]}"; do
  dir="$work/$target"
  rm -rf "$dir" && mkdir -p "$dir/corpus"
  cp -r "$root/fuzz/corpus/$target/." "$dir/corpus/"
  dict=$(dict_of "$target")
  log="$dir/fuzz.log"
  echo "fuzz: $target for ${seconds} s (log $log)"
  status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$(leaks_of "$target")} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin/quamba-fuzz-$target" "$dir/corpus" \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
      -artifact_prefix="$dir/" ${dict:+-dict="$root/fuzz/$dict"} ${FUZZ_FLAGS:-} \
      >"$log" 2>&1 || status=$?
  # libFuzzer's last status line ("#N DONE cov: C ft: F corp: U/S ...") and
  # its final stats.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([^ ]+).*/\1/p' <<<"$last")
  execs=$(sed -nE 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *//p' "$log")
  rss=$(sed -nE 's/^stat::peak_rss_mb: *//p' "$log")
  echo "fuzz: $target: ${execs:-?} executions (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}," \
    "corpus ${corp:-?} (units/bytes), peak rss ${rss:-?} MB"
  if [ "$status" -ne 0 ]; then
    grep -E '^==[0-9]+==ERROR|runtime error|SUMMARY|Test unit written|fuzzer: accepted|ALARM|out-of-memory' \
      "$log" | head -20 || true
    echo "fuzz: $target: FINDING (exit $status); input and log in $dir/" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings in ${targets[*]} (${seconds} s each)"
[ -n "${scratch:-}" ] && rm -rf "$scratch"
exit 0
