# Mask R-CNN + FPN with SecViT-T, COCO, the paper's 1x recipe (appendix B): AdamW lr 1e-4,
# weight decay 0.05 (none on norms), 12 epochs, lr x0.1 at 8 and 11, 1000-iteration linear warmup,
# single scale 1333x800, batch 16 (8 GPUs x 2; --auto-scale-lr adapts the lr to other totals).
_base_ = [
    './_base_/models/mask_rcnn_secvit_t.py',  # backbone, weights, drop path per size
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/secvit_adamw_coco_1x.py',  # AdamW, warmup, lr steps, batch 16
    './_base_/secvit_coco_runtime.py',  # hooks, --tta, custom_imports
]
