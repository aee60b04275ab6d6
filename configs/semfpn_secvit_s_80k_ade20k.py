# Semantic FPN with SecViT-S, ADE20K: semfpn_secvit_t_80k_ade20k.py with the small backbone (its
# drop path: ./_base_/models/fpn_secvit_t.py).
_base_ = ['./semfpn_secvit_t_80k_ade20k.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
