#!/bin/bash
# Evaluate a candidate pet model the way docs/model-card.md's Status table does:
# export, choose the presence threshold on validation (98 % of pet photos pass), export float32 and int8
# (stem and head in float), then score the int8 file on every validation set with bench/peers.py.
#
# usage: [RECALL=0.98] scripts/eval_candidate.sh CHECKPOINT OUT_DIR
#        (run from the repository root, ../shared/data beside it; RECALL: share of validation pet photos that
#        must pass the written presence threshold, at least the bar of 0.98)
set -euo pipefail
ckpt=$1
out=$2
data="../shared/data/oxford-pets ../shared/data/oxford-breeds ../shared/data/feral-cats ../shared/data/coco-scenes"
py=${PYTHON:-python}
if [ -e "$out" ]; then
    echo "$out exists; choose a new folder" >&2
    exit 1
fi
mkdir -p "$out"
cp "$ckpt" "$out/candidate.pt"
$py -m colorsplash export "$out/candidate.pt" -o "$out/fp32-raw.onnx" > "$out/export.log" 2>&1
$py bench/presence.py "$out/fp32-raw.onnx" --checkpoint "$out/candidate.pt" --write "$out/calibrated.pt" \
    --recall "${RECALL:-0.98}" > "$out/presence.txt" 2>&1
$py -m colorsplash export "$out/calibrated.pt" -o "$out/fp32.onnx" >> "$out/export.log" 2>&1
# shellcheck disable=SC2086  # the data folders are separate arguments
$py -m colorsplash export "$out/calibrated.pt" --int8 $data -o "$out/int8.onnx" >> "$out/export.log" 2>&1
out_abs=$(cd "$out" && pwd)
py_abs=$(command -v "$py" || echo "$py")
case $py_abs in /*) ;; *) py_abs="$PWD/$py_abs" ;; esac
(cd bench && "$py_abs" peers.py --model "$out_abs/int8.onnx" --threads 2 --json "$out_abs/peers-int8.json" \
    > "$out_abs/peers-int8.txt" 2>&1)
grep "^| ours" "$out/peers-int8.txt"
