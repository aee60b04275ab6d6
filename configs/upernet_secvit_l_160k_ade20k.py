# UperNet with SecViT-L, ADE20K: upernet_secvit_t_160k_ade20k.py with the large backbone (the same
# drop path, 0.3: Swin's UperNet rate).
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(arch='large', init_cfg=dict(checkpoint='checkpoints/secvit_l_in1k.pth')),
    decode_head=dict(in_channels=[112, 224, 448, 640]),
    auxiliary_head=dict(in_channels=448))
