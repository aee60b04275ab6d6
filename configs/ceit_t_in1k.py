# CeiT-T on ImageNet-1k: the DeiT recipe without distillation, as trained by the CeiT authors.
# 16 GPUs x 64 images = batch 1024 at lr 1e-3 (= 5e-4 x 1024 / 512); for another total batch
# pass --auto-scale-lr (linear scaling from 1024, i.e. lr 5e-4 x batch / 512).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',  # RandAugment, RandomErasing 0.25
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',  # AdamW 1e-3, wd 0.05, cosine
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CeiT', arch='tiny', drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=192,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# DeiT's repeated augmentation (3 augmented copies of each image per epoch, spread over GPUs).
train_dataloader = dict(sampler=dict(type='RepeatAugSampler'))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '_delete_': True,  # drop the Swin-specific keys of the base
        '.pos_embed': dict(decay_mult=0.),
        '.cls_token': dict(decay_mult=0.),
    }))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5),
]

# timm ModelEma decay 0.99996 per iteration.
custom_hooks = [dict(type='EMAHook', momentum=4e-5, priority='ABOVE_NORMAL'), dict(type='RNGStateHook')]

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint); RNGStateHook above makes --resume exact.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
