# Semantic FPN with SecViT-B, ADE20K: semfpn_secvit_t_80k_ade20k.py with the base backbone (its drop
# path: ./_base_/models/fpn_secvit_t.py).
_base_ = ['./semfpn_secvit_t_80k_ade20k.py']

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/secvit_b_in1k.pth')),
    neck=dict(in_channels=[80, 160, 320, 512]))
