# UperNet with CeiT-S (4 levels at strides 4/8/16/32, D=384 channels each): the ADE20K 160k recipe
# of upernet_ceit_t_160k_ade20k.py with the small arch.
_base_ = ['./upernet_ceit_t_160k_ade20k.py']

# ImageNet-1k weights (tools/convert_ceit.py output, or a checkpoint of configs/ceit_s_in1k.py).
pretrained = 'checkpoints/ceit_s_in1k.pth'
model = dict(
    backbone=dict(arch='small', init_cfg=dict(checkpoint=pretrained)),
    decode_head=dict(in_channels=[384, 384, 384, 384]),
    auxiliary_head=dict(in_channels=384))
