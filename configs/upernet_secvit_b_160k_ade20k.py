# UperNet with SecViT-B, ADE20K: upernet_secvit_t_160k_ade20k.py with the base backbone (the same
# drop path, 0.3: Swin's UperNet rate).
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint='checkpoints/secvit_b_in1k.pth')),
    decode_head=dict(in_channels=[80, 160, 320, 512]),
    auxiliary_head=dict(in_channels=320))
