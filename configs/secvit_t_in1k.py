# SecViT-T ImageNet-1k classifier (mmpretrain), the paper's DeiT-style recipe: 300 epochs, 224x224,
# AdamW lr 5e-4 x batch / 512 (1e-3 at the base total batch 1024 = 16 x 64), weight decay 0.05,
# cosine to 1e-5 after 5 warmup epochs, RandAugment m9-mstd0.5, Mixup 0.8, CutMix 1.0,
# RandomErasing 0.25, label smoothing 0.1, EMA.
_base_ = [
    './_base_/models/deit_classifier.py',  # linear head, label smoothing, Mixup / CutMix
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    './_base_/schedules/deit_adamw_in1k.py',  # AdamW, 5 warmup epochs, cosine
    './_base_/secvit_in1k_runtime.py',  # custom_imports, crash-safe checkpoints
]

model = dict(
    backbone=dict(type='SecViT', arch='tiny', out_indices=(3, ), drop_path_rate=0.1),
    # The released head: 1x1 conv to 1024 + BN + SiLU + pool, then a linear classifier.
    neck=dict(type='ConvPoolNeck', in_channels=512, out_channels=1024),
    head=dict(in_channels=1024))

custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'), dict(type='RNGStateHook')]
