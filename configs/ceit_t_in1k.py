# CeiT-T on ImageNet-1k: the DeiT recipe without distillation, as trained by the CeiT authors.
# 16 GPUs x 64 images = batch 1024 at lr 1e-3 (= 5e-4 x 1024 / 512); for another total batch
# pass --auto-scale-lr (linear scaling from 1024, i.e. lr 5e-4 x batch / 512).
_base_ = [
    './_base_/models/deit_classifier.py',  # linear head, label smoothing, Mixup / CutMix
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',  # RandAugment, RandomErasing 0.25
    './_base_/schedules/deit_adamw_in1k.py',  # AdamW 1e-3, wd 0.05, 5 warmup epochs, cosine
    './_base_/secvit_in1k_runtime.py',  # custom_imports, crash-safe checkpoints
]
default_scope = 'mmpretrain'

model = dict(
    backbone=dict(type='CeiT', arch='tiny', drop_path_rate=0.1),
    neck=None,
    head=dict(in_channels=192))

# DeiT's repeated augmentation (3 augmented copies of each image per epoch, spread over GPUs).
train_dataloader = dict(sampler=dict(type='RepeatAugSampler'))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '_delete_': True,  # drop the Swin-specific keys of the base
        '.pos_embed': dict(decay_mult=0.),
        '.cls_token': dict(decay_mult=0.),
    }))

# timm ModelEma decay 0.99996 per iteration.
custom_hooks = [dict(type='EMAHook', momentum=4e-5, priority='ABOVE_NORMAL'), dict(type='RNGStateHook')]
