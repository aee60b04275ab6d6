# Mask R-CNN + FPN with CeiT-S (out_type='featmap': a 4-level pyramid at strides 4/8/16/32 with
# D=384 channels each): mask_rcnn_ceit_t_1x.py (COCO 1x recipe) with the small arch.
_base_ = './mask_rcnn_ceit_t_1x.py'

# ImageNet-1k weights (tools/convert_ceit.py output, or a checkpoint of configs/ceit_s_in1k.py).
pretrained = 'checkpoints/ceit_s_in1k.pth'
model = dict(
    backbone=dict(arch='small', init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[384, 384, 384, 384]))
