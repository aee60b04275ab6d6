# UperNet with CeiT-T (out_type='featmap', 4 levels at strides 4/8/16/32, D=192 channels each),
# ADE20K, the Swin/PVT 160k recipe: 512x512 crops, AdamW lr 6e-5, betas (0.9, 0.999), wd 0.01 (none
# on norms, position embedding, class token), linear warmup 1500 iters from 1e-6 x lr then poly
# (power 1.0) to 0, batch 16 (8 GPUs x 2), UPerHead (512 ch) + auxiliary FCN head (0.4) on level 3.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/ade20k.py',  # data/ade/ADEChallengeData2016
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    './_base_/secvit_ade20k_runtime.py',  # custom_imports, RNGStateHook, whole / slide test
]

crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
# ImageNet-1k weights (tools/convert_ceit.py output, or a checkpoint of configs/ceit_t_in1k.py).
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/ceit_t_in1k.pth'
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True, type='CeiT', arch='tiny', out_type='featmap', out_indices=(3, 5, 8, 11),
        drop_path_rate=0.1,  # the ImageNet rate (not stated for dense prediction)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=[192, 192, 192, 192], num_classes=150),
    auxiliary_head=dict(in_channels=192, num_classes=150),
    test_cfg={{_base_.whole_or_slide}})

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        norm_decay_mult=0.,  # every norm layer (LN, BN, GN), found by type
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
