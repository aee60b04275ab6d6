# Mask R-CNN + FPN with CeiT-T (out_type='featmap': a 4-level pyramid at strides 4/8/16/32 with
# D=192 channels each), COCO, the 1x recipe of mask_rcnn_secvit_t_1x.py (AdamW 1e-4, wd 0.05,
# 12 epochs, lr x0.1 at 8 and 11, 1000-iter warmup, 1333x800, batch 16).
_base_ = './mask_rcnn_secvit_t_1x.py'

# ImageNet-1k weights (tools/convert_ceit.py output, or a checkpoint of configs/ceit_t_in1k.py).
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/ceit_t_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True, type='CeiT', arch='tiny', out_type='featmap', out_indices=(3, 5, 8, 11),
        drop_path_rate=0.1,  # the ImageNet rate (not stated for detection)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[192, 192, 192, 192]))

# No weight decay on the position embedding and class token (as in CeiT's ImageNet training).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'pos_embed': dict(decay_mult=0.),
    'cls_token': dict(decay_mult=0.),
}))
