#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test
# (lit suites and unit tests) through ctest, then a smoke run of every
# libFuzzer target (scripts/fuzz.sh, QUAMBA_FUZZ_SMOKE_SECONDS each, default
# 20; QUAMBA_FUZZ_SMOKE=0 skips it).
#   scripts/test.sh              Release build
#   scripts/test.sh --sanitize   the whole suite under ASan + UBSan
# Tests that need ../shared are skipped, with a note, when it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$@"

build_dir=${BUILD_DIR:-$root/build}
for arg in "$@"; do
  [ "$arg" = "--sanitize" ] && build_dir=${BUILD_DIR:-$root/build-sanitize}
done
# LeakSanitizer reports MLIR's intentional process-lifetime allocations;
# ASan/UBSan errors still fail the run. allow_user_poisoning=0: LLVM's
# allocators (BumpPtrAllocator, Recycler) poison and unpoison their slabs in
# inline header code, which is instrumented in our objects but not in
# Debian's libMLIR; memory our copy poisoned and libMLIR's copy handed out
# again reads as use-after-poison, a false report (StringAttr::get's memmove,
# a module walk). ASan's own checks (heap, stack, globals) stay on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure

# The fuzzers pick their own sanitizer options (leak checks on for runtime/).
# A fixed seed: the smoke run replays the same input sequence every time, so
# a red test run means a regression, not the luck of a new random walk (long
# random runs are scripts/fuzz.sh's job).
if [ "${QUAMBA_FUZZ_SMOKE:-1}" != 0 ]; then
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u BUILD_DIR FUZZ_FLAGS="${FUZZ_FLAGS:--seed=1}" \
    "$root/scripts/fuzz.sh" all "${QUAMBA_FUZZ_SMOKE_SECONDS:-20}"
fi
