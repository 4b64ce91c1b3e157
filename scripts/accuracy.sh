#!/usr/bin/env bash
# Accuracy of every quantization mode on one checkpoint: bits/byte on
# held-out text, calibrating on another text (CPU interpreter).
#   scripts/accuracy.sh CKPT [OPTIONS]
#     --calib FILE     calibration text   (default models/calibration-mix.txt)
#     --eval FILE      evaluation text    (default models/austen-heldout.txt)
#     --samples N --seqlen L              (default 16 x 512)
#     --group-size G                      (default 128)
#     --only NAME[,NAME]                  run only these rows
# Prints one JSON object per row on stdout: {"model","row","bits_per_byte",
# "tokens","tokens_per_s"}; progress goes to stderr.
# Rows: fp32; the W8A8 ablation naive -> +rotation -> quamba2 (+sort-and-
# cluster, percentile); W4A8 naive / RTN / GPTQ; W4A16 RTN / GPTQ; W4AX.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/build/bin}
ckpt=$1; shift
calib=$root/models/calibration-mix.txt
eval_text=$root/models/austen-heldout.txt
samples=16 seqlen=512 group=128 only=""
while [ $# -gt 0 ]; do
  case $1 in
    --calib) calib=$2; shift 2;;
    --eval) eval_text=$2; shift 2;;
    --samples) samples=$2; shift 2;;
    --seqlen) seqlen=$2; shift 2;;
    --group-size) group=$2; shift 2;;
    --only) only=$2; shift 2;;
    *) echo "accuracy.sh: unknown option $1" >&2; exit 2;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$ckpt")
cal="data=$calib samples=$samples seqlen=$seqlen"

"$bin/quamba-import" "$ckpt" -o "$work/model.mlirbc"

# row name, then a quamba-opt pass pipeline ("" = the float model).
rows=(
  "fp32|"
  "w8a8-naive|quamba-fuse-norm-gains,quamba-calibrate{$cal},quamba-quantize{mode=w8a8 naive=true}"
  "w8a8-rotate|quamba-fuse-norm-gains,quamba-rotate,quamba-calibrate{$cal},quamba-quantize{mode=w8a8 naive=true}"
  "w8a8|quamba-w8a8{$cal}"
  "w4a8-naive|quamba-fuse-norm-gains,quamba-calibrate{$cal},quamba-quantize{mode=w4a8 naive=true group-size=$group}"
  "w4a8-rtn|quamba-w4a8{$cal gptq=false group-size=$group}"
  "w4a8|quamba-w4a8{$cal group-size=$group}"
  "w4a16-rtn|quamba-w4a16{gptq=false group-size=$group}"
  "w4a16|quamba-w4a16{$cal group-size=$group}"
  "w4ax|quamba-w4ax{$cal group-size=$group}"
)
for entry in "${rows[@]}"; do
  row=${entry%%|*} pipeline=${entry#*|}
  if [ -n "$only" ] && [[ ",$only," != *",$row,"* ]]; then continue; fi
  echo "== $name $row" >&2
  model=$work/model.mlirbc
  if [ -n "$pipeline" ]; then
    model=$work/$row.mlirbc
    "$bin/quamba-opt" "$work/model.mlirbc" --pass-pipeline="builtin.module($pipeline)" \
      --emit-bytecode -o "$model"
  fi
  "$bin/quamba-interpret" "$model" --ppl "$eval_text" --json |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"model":sys.argv[1],"row":sys.argv[2],"bits_per_byte":round(r["bits_per_byte"],5),"tokens":r["tokens"],"tokens_per_s":round(r["tokens_per_s"])}))' "$name" "$row"
  rm -f "$work/$row.mlirbc"
done
