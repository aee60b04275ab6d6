# Mask R-CNN + FPN with SecViT-B: mask_rcnn_secvit_t_3x.py (recipe, schedule, pipeline) with the
# base backbone.
_base_ = ['./mask_rcnn_secvit_t_3x.py']

model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,  # not stated for detection: Swin-B's detection rate (ImageNet: 0.4)
        init_cfg=dict(checkpoint='checkpoints/secvit_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
