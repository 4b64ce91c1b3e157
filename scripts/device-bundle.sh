#!/usr/bin/env bash
# Builds, on this machine, what scripts/gpu-check.sh needs on the GPU machine
# (which has no MLIR and no OpenBLAS) into .device/ (git-ignored; carry it):
#   .device/bin/quamba-run   MLIR-free, with lib/libquamba.so (OpenBLAS and
#                            libstdc++ linked in statically) and the C example
#   .device/lit/             lit, for the GPU lit suite (test/GPU)
#   .device/models/<family>/*.qmb   the tiny fixtures and the bundled models
#                            compiled in every mode
#   .device/MANIFEST         what was built, from which commit, for which target
# Usage: scripts/device-bundle.sh [--target sm_90a|sm_80] [--quick]
#   --quick: the tiny test fixtures only (seconds), not the bundled models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=sm_90a
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "device-bundle.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

"$root/scripts/build.sh" >/dev/null
cmake -G Ninja -S "$root" -B "$root/build-device" -DCMAKE_BUILD_TYPE=Release \
  -DQUAMBA_PORTABLE_RUNTIME=ON >/dev/null
ninja -C "$root/build-device" quamba-run quamba-c-example >/dev/null

out="$root/.device"
rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/lib" "$out.tmp/models"
for f in bin/quamba-run bin/quamba-c-example lib/libquamba.so; do
  cp "$root/build-device/$f" "$out.tmp/$f" && strip "$out.tmp/$f"
done
cp -r /usr/lib/llvm-22/utils/lit "$out.tmp/lit"
find "$out.tmp/lit" -name '__pycache__' -prune -exec rm -rf {} +

compile="$root/build/bin/quamba-compile"
calib="$root/models/calibration-mix.txt"
# name, checkpoint, group size (Mamba1-3m's in_proj needs 64)
models=("tiny2 $root/test/fixtures/tiny_mamba2_g2_hf 64" "tiny1 $root/test/fixtures/tiny_mamba1_hf 64")
[ "$quick" = 1 ] || models+=("mamba2-6m $root/models/mamba2-bytes-6m 128"
                            "mamba1-3m $root/models/mamba1-bytes-3m 64")
for entry in "${models[@]}"; do
  read -r name ckpt group <<<"$entry"
  # One folder per model family (tiny, mamba2-6m, mamba1-3m): carry the
  # folders that fit one device call (64 MiB with the repository).
  dir=${name/tiny[12]/tiny}
  mkdir -p "$out.tmp/models/$dir"
  for mode in fp32 fp16 w8a8 w4a8 w4a16 w4ax; do
    echo "== $name $mode ($target)" >&2
    "$compile" "$ckpt" --mode "$mode" --calib "$calib" --samples 8 --seqlen 256 \
      --group-size "$group" --target "$target" -o "$out.tmp/models/$dir/$name-$mode.qmb" \
      2> "$out.tmp/models/$dir/$name-$mode.log" || { cat "$out.tmp/models/$dir/$name-$mode.log" >&2; exit 1; }
  done
done
# A one-layer mamba2 with one group of d_inner = 2560 = 40 * 64 (mamba2-2.7b's
# kind of row, 5120): its gated norm runs on a cluster of 8 blocks at decode
# batches below 16. Random weights, not carried (--no-weights: the runtime
# draws the same ones on both devices).
ckpt2=$(mktemp -d)
trap 'rm -rf "$ckpt2"' EXIT
"$root/build/bin/quamba-random-checkpoint" --arch mamba2 --d-model 1280 --layers 1 --vocab 256 \
  -o "$ckpt2/ckpt" >/dev/null 2>&1
for mode in w8a8 w4a8; do
  echo "== cluster $mode ($target)" >&2
  "$compile" "$ckpt2/ckpt" --mode "$mode" --calib "$calib" --samples 2 --seqlen 64 --group-size 128 \
    --no-weights --target "$target" -o "$out.tmp/models/tiny/cluster-$mode.qmb" \
    2> "$out.tmp/models/tiny/cluster-$mode.log" || { cat "$out.tmp/models/tiny/cluster-$mode.log" >&2; exit 1; }
done
# One artifact for the other architecture: on Hopper it runs from its PTX.
other=sm_80; [ "$target" = sm_80 ] && other=sm_90a
"$compile" "$root/test/fixtures/tiny_mamba2_g2_hf" --mode w8a8 --calib "$calib" --samples 8 \
  --seqlen 256 --group-size 64 --target "$other" -o "$out.tmp/models/tiny/tiny2-w8a8-${other/_/}.qmb" \
  2> "$out.tmp/models/tiny/tiny2-w8a8-$other.log"
{
  echo "commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo -dirty)"
  echo "target $target"
  echo "built $(date -u +%FT%TZ)"
} > "$out.tmp/MANIFEST"
rm -rf "$out" && mv "$out.tmp" "$out"
du -sh "$out"
