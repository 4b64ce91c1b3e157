#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test
# (lit suites and unit tests) through ctest.
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
# ASan/UBSan errors still fail the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure
