# RetinaNet + FPN with SecViT-T, COCO, the paper's 1x recipe (appendix B; the numbers:
# ./_base_/schedules/secvit_adamw_coco_1x.py) with RetinaNet's weight decay, single scale 1333x800.
_base_ = [
    './_base_/models/retinanet_secvit_t.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedules/secvit_adamw_coco_1x.py',
    './_base_/secvit_coco_runtime.py',
]

optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))  # the paper's RetinaNet value (others: 0.05)
