#!/usr/bin/env bash
# The main job on the built-in data: set up, make the demo COCO set, evaluate the untrained
# Mask R-CNN SecViT-T, train it, evaluate the trained one and save pictures of its predictions.
# Each run gets its own work dir, so nothing from an earlier run is overwritten.
#
#   bash tools/demo.sh [--verbose]
#
# The screen gets one header per stage, a progress line while training and the final table; each
# tool's whole output (mmengine's config dump and logs included) goes to a .log file in the work dir.
#   --verbose, SECVIT_MM_VERBOSE=1   the tools' whole output on the screen as well
#   DEMO_SKIP_INSTALL=1              skip tools/install.sh (an environment set up already)
#   DEMO_DATA                        where the built-in data is made (default data/demo)
#   DEMO_WORK_DIR                    where the run's work dir is made (default work_dirs/demo)
#   DEMO_CFG_OPTIONS                 extra --cfg-options for training and both evaluations (k=v ...)
#   OMP_NUM_THREADS                  threads (default 2; the figures depend on it, docs/main_job.md)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERBOSE="${SECVIT_MM_VERBOSE:-0}"
for arg in "$@"; do
  case "$arg" in
    --verbose|-v) VERBOSE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $arg (see: bash tools/demo.sh --help)" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
[[ "${DEMO_SKIP_INSTALL:-0}" == 1 ]] || bash tools/install.sh
PY=.venv/bin/python
CFG=configs/demo/mask_rcnn_secvit_t_demo.py
WORK="${DEMO_WORK_DIR:-work_dirs/demo}/$(date +%Y%m%d_%H%M%S)"
DATA="${DEMO_DATA:-data/demo}"
read -r -a OPTIONS <<< "${DEMO_CFG_OPTIONS:-}"
CFG_OPTIONS=()
[[ ${#OPTIONS[@]} -gt 0 ]] && CFG_OPTIONS=(--cfg-options "${OPTIONS[@]}")
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$WORK"
START=$SECONDS  # the clock for the main job itself: data, baseline, training, evaluation (not the install)

# step KIND LOG COMMAND...: the command's whole output into LOG; on the screen a progress line
# (KIND train), nothing (KIND quiet) or, with --verbose, everything. A failure shows its last error.
step() {
  local kind=$1 log=$2
  shift 2
  if [[ $VERBOSE == 1 ]]; then
    "$@" 2>&1 | tee "$log"
  else
    "$PY" tools/progress.py "$kind" --log "$log" -- "$@"
  fi
}

echo "== 1/5 data: the built-in COCO set of shapes in $DATA/coco =="
"$PY" tools/make_demo_data.py --out "$DATA" --which coco --num-train 256 --num-val 16
echo "== 2/5 baseline: the untrained model on the val split (log: $WORK/untrained.log) =="
step quiet "$WORK/untrained.log" "$PY" tools/test.py "$CFG" random --work-dir "$WORK/untrained" "${CFG_OPTIONS[@]}"
"$PY" tools/demo_summary.py --brief "$WORK/untrained.log"
echo "== 3/5 training: $CFG, seeded (log: $WORK/train.log) =="
step train "$WORK/train.log" "$PY" tools/train.py "$CFG" --work-dir "$WORK" "${CFG_OPTIONS[@]}"
CKPT="$WORK/$(xargs basename < "$WORK/last_checkpoint")"
echo "== 4/5 evaluation: the trained model on the val split (log: $WORK/test.log) =="
step quiet "$WORK/test.log" "$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK/test" \
  --show-dir "$WORK/pictures" --out "$WORK/predictions.pkl" "${CFG_OPTIONS[@]}"
"$PY" tools/demo_summary.py --brief "$WORK/test.log"
echo "== 5/5 pictures: ground truth (left) and predictions (right) of each val image, drawn by the evaluation =="
ELAPSED=$((SECONDS - START))
echo "main job (data, untrained baseline, training, evaluation): $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
echo "your own images / a video with this checkpoint: python tools/infer.py $CFG $CKPT INPUT --out $WORK/infer"
"$PY" tools/demo_summary.py "$WORK/untrained.log" "$WORK/test.log" --pictures "$WORK/pictures"
echo "work dir: $WORK (checkpoint, predictions.pkl, each step's .log; mmengine's own logs in its dated folders)"
