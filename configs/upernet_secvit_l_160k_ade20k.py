# UperNet with SecViT-L, ADE20K: upernet_secvit_t_160k_ade20k.py (recipe, schedule, pipeline)
# with the large backbone.
_base_ = ['./upernet_secvit_t_160k_ade20k.py']

model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.3,  # not stated for ADE20K: Swin's UperNet rate
        init_cfg=dict(checkpoint='checkpoints/secvit_l_in1k.pth')),
    decode_head=dict(in_channels=[112, 224, 448, 640]),
    auxiliary_head=dict(in_channels=448))
