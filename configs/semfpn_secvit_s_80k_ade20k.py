# Semantic FPN with SecViT-S, ADE20K: semfpn_secvit_t_80k_ade20k.py (recipe, schedule, pipeline)
# with the small backbone.
_base_ = ['./semfpn_secvit_t_80k_ade20k.py']

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.15,  # not stated for ADE20K: the ImageNet rate (PVT practice)
        init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
