# Semantic FPN with SecViT-T, ADE20K, the PVT recipe the paper follows: 512x512 crops, 80k iterations,
# AdamW lr 1e-4, weight decay 1e-4, poly (power 0.9) to 0 without warmup, batch 16 (8 GPUs x 2).
# FPN (256 channels) on the four stage maps + FPNHead. Evaluation: IoUMetric (mIoU), the test image
# resized to (2048, 512) keeping its ratio.
_base_ = [
    './_base_/models/fpn_secvit_t.py',  # backbone, weights, drop path per size
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/secvit_ade20k_runtime.py',  # custom_imports, RNGStateHook, whole / slide test
]

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=150),
    test_cfg={{_base_.whole_or_slide}})

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
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
