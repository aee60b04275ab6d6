# UperNet with SecViT-B, ADE20K: upernet_secvit_t_160k_ade20k.py (recipe, schedule, pipeline)
# with the base backbone.
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,  # not stated for ADE20K: Swin's UperNet rate
        init_cfg=dict(checkpoint='checkpoints/secvit_b_in1k.pth')),
    decode_head=dict(in_channels=[80, 160, 320, 512]),
    auxiliary_head=dict(in_channels=320))
