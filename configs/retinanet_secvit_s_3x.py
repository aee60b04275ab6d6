# RetinaNet + FPN with SecViT-S: retinanet_secvit_t_3x.py (recipe, schedule, pipeline) with the
# small backbone.
_base_ = ['./retinanet_secvit_t_3x.py']

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.15,  # not stated for detection: the ImageNet rate (PVT practice; Swin-S uses 0.2)
        init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
