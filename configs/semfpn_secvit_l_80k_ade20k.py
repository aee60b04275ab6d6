# Semantic FPN with SecViT-L, ADE20K: semfpn_secvit_t_80k_ade20k.py with the large backbone (its
# drop path: ./_base_/models/fpn_secvit_t.py).
_base_ = ['./semfpn_secvit_t_80k_ade20k.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.3,
                  init_cfg=dict(checkpoint='checkpoints/secvit_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
