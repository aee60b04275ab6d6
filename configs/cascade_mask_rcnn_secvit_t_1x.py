# Cascade Mask R-CNN + FPN with SecViT-T, COCO, the paper's 1x recipe (appendix B; the numbers:
# ./_base_/schedules/secvit_adamw_coco_1x.py), single scale 1333x800.
_base_ = [
    './_base_/models/cascade_mask_rcnn_secvit_t.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/secvit_adamw_coco_1x.py',
    './_base_/secvit_coco_runtime.py',
]
