#!/usr/bin/env bash
# Configures and builds quamba with CMake + Ninja.
#   scripts/build.sh              Release build in build/
#   scripts/build.sh --sanitize   ASan + UBSan build in build-sanitize/
# BUILD_DIR overrides the build directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sanitize=OFF
default_dir="$root/build"
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; default_dir="$root/build-sanitize" ;;
    *) echo "build.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done
build_dir=${BUILD_DIR:-$default_dir}

cmake -G Ninja -S "$root" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=Release \
  -DQUAMBA_SANITIZE="$sanitize" \
  -DQUAMBA_SHARED_DIR="$(cd "$root/.." && pwd)/shared" >/dev/null
ninja -C "$build_dir"
