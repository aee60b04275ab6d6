# SecViT-T ImageNet-1k classifier (mmpretrain), the paper's DeiT-style recipe: 300 epochs, 224x224,
# AdamW lr 5e-4 x batch / 512 (1e-3 at the base total batch 1024 = 16 x 64), weight decay 0.05,
# cosine to 1e-5 after 5 warmup epochs, RandAugment m9-mstd0.5, Mixup 0.8, CutMix 1.0,
# RandomErasing 0.25, label smoothing 0.1, EMA.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='SecViT', arch='tiny', out_indices=(3, ), drop_path_rate=0.1),
    # The released head: 1x1 conv to 1024 + BN + SiLU + pool, then a linear classifier.
    neck=dict(type='ConvPoolNeck', in_channels=512, out_channels=1024),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5),
]
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'), dict(type='RNGStateHook')]

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint); RNGStateHook above makes --resume exact.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
