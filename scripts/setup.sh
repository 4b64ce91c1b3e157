#!/usr/bin/env bash
# Installs what quamba needs to build and test, idempotently: Debian's LLVM/MLIR 22,
# lit/FileCheck, nlohmann-json, GoogleTest, Ninja, and clang-22 with its compiler-rt (libclang_rt.fuzzer,
# ASan, UBSan) for the libFuzzer targets of fuzz/. Safe to run again; it installs only what is missing.
set -euo pipefail

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  nlohmann-json3-dev ninja-build cmake g++ libgtest-dev python3 xz-utils
  libopenblas-dev
  clang-22 libclang-rt-22-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
