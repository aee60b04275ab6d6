# Mask R-CNN + FPN with SecViT-L: mask_rcnn_secvit_t_3x.py with the large backbone (its drop path:
# ./_base_/models/mask_rcnn_secvit_t.py).
_base_ = ['./mask_rcnn_secvit_t_3x.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/secvit_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
