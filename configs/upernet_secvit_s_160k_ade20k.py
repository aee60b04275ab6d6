# UperNet with SecViT-S, ADE20K: upernet_secvit_t_160k_ade20k.py (recipe, schedule, pipeline)
# with the small backbone.
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.3,  # not stated for ADE20K: Swin's UperNet rate
        init_cfg=dict(checkpoint='checkpoints/secvit_s_in1k.pth')),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
