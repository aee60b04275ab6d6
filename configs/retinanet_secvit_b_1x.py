# RetinaNet + FPN with SecViT-B: retinanet_secvit_t_1x.py with the base backbone (its drop path:
# ./_base_/models/mask_rcnn_secvit_t.py).
_base_ = ['./retinanet_secvit_t_1x.py']

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/secvit_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
