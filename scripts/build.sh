#!/usr/bin/env bash
# Configures and builds quamba with CMake + Ninja.
#   scripts/build.sh              Release build in build/
#   scripts/build.sh --sanitize   ASan + UBSan build in build-sanitize/
#   scripts/build.sh --fuzz       the libFuzzer targets only (clang-22), in build-fuzz/
# BUILD_DIR overrides the build directory; JOBS caps Ninja's parallel jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sanitize=OFF
fuzz=OFF
default_dir="$root/build"
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; default_dir="$root/build-sanitize" ;;
    --fuzz) fuzz=ON; default_dir="$root/build-fuzz" ;;
    *) echo "build.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done
build_dir=${BUILD_DIR:-$default_dir}

compilers=()
targets=()
if [ "$fuzz" = ON ]; then
  compilers=(-DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22)
  targets=(quamba-fuzzers)
fi

cmake -G Ninja -S "$root" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=Release \
  -DQUAMBA_SANITIZE="$sanitize" \
  -DQUAMBA_FUZZ="$fuzz" \
  "${compilers[@]}" \
  -DQUAMBA_SHARED_DIR="$(cd "$root/.." && pwd)/shared" >/dev/null
ninja -C "$build_dir" ${JOBS:+-j "$JOBS"} "${targets[@]}"
