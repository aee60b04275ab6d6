# Semantic FPN with SecViT-T, ADE20K, the PVT recipe the paper follows: 512x512 crops, 80k iterations,
# AdamW lr 1e-4, weight decay 1e-4, poly (power 0.9) to 0 without warmup, batch 16 (8 GPUs x 2).
# FPN (256 channels) on the four stage maps + FPNHead. Evaluation: IoUMetric (mIoU), the test image
# resized to (2048, 512) keeping its ratio.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)

crop_size = (512, 512)
# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
# Test: the whole (2048, 512)-resized image in one pass (mode='whole', the paper's protocol). In
# paper clustering mode its cost grows with the square of the pixels; 512x512 windows at stride 341
# (mode='slide') bound it. Choose with --cfg-options model.test_cfg.mode=slide; measured time and
# memory of both: docs/segmentation_test_modes.md.
whole_or_slide = dict(mode='whole', crop_size=(512, 512), stride=(341, 341))
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        # The paper's clusters (32, 8, 2, global). Fixed-size clusters, linear in the image size:
        # --cfg-options model.backbone.cluster_size=98
        num_clusters=(32, 8, 2, None),
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,  # not stated for ADE20K: the ImageNet rate (PVT practice)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]),
    decode_head=dict(num_classes=150),
    test_cfg=whole_or_slide)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=80000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint) and exact resume: the random
# generators' states are saved with each checkpoint and restored by --resume (secvit_mm.engine.hooks.rng_state).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [dict(type='RNGStateHook')]
