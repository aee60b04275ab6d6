# UperNet with SecViT-S, ADE20K: upernet_secvit_t_160k_ade20k.py with the small backbone (the same
# drop path, 0.3: Swin's UperNet rate).
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(arch='small', init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
