#!/usr/bin/env bash
# The main job on the built-in data: set up, make the demo COCO set, evaluate the untrained
# Mask R-CNN SecViT-T, train it, evaluate the trained one and save pictures of its predictions.
# Each run gets its own work dir, so nothing from an earlier run is overwritten.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install.sh
PY=.venv/bin/python
CFG=configs/demo/mask_rcnn_secvit_t_demo.py
WORK="work_dirs/demo/$(date +%Y%m%d_%H%M%S)"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$WORK"
START=$SECONDS  # the clock for the main job itself: data, baseline, training, evaluation (not the install)

"$PY" tools/make_demo_data.py --out data/demo --which coco --num-train 256 --num-val 16
echo "== untrained model on the val split =="
"$PY" tools/test.py "$CFG" random --work-dir "$WORK/untrained" 2>&1 | tee "$WORK/untrained.log" | grep -E "coco/|Average Precision  \(AP\) @\[ IoU=0.50:0.95 \| area=   all" || true
echo "== training ($CFG) =="
"$PY" tools/train.py "$CFG" --work-dir "$WORK"
CKPT="$WORK/$(cat "$WORK/last_checkpoint" | xargs basename)"
echo "== trained model on the val split =="
"$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK/test" --show-dir "$WORK/pictures" \
  --out "$WORK/predictions.pkl" 2>&1 | tee "$WORK/test.log" | grep -E "coco/" || true
"$PY" tools/demo_summary.py "$WORK/untrained.log" "$WORK/test.log" --pictures "$WORK/pictures"
ELAPSED=$((SECONDS - START))
echo "main job (data, untrained baseline, training, evaluation): $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
echo "your own images / a video with this checkpoint: python tools/infer.py $CFG $CKPT INPUT --out $WORK/infer"
