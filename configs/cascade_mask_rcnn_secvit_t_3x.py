# Cascade Mask R-CNN + FPN with SecViT-T, COCO, the paper's 3x + multi-scale recipe (appendix B).
_base_ = [
    './_base_/models/cascade_mask_rcnn_secvit_t.py',
    './_base_/datasets/coco_instance_ms_3x.py',  # short side 480..800 in steps of 32, long side <= 1333
    './_base_/schedules/secvit_adamw_coco_3x.py',  # the 1x recipe over 36 epochs, lr x0.1 at 27 and 33
    './_base_/secvit_coco_runtime.py',
]
