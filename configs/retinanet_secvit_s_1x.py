# RetinaNet + FPN with SecViT-S: retinanet_secvit_t_1x.py with the small backbone (its drop path:
# ./_base_/models/mask_rcnn_secvit_t.py).
_base_ = ['./retinanet_secvit_t_1x.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
