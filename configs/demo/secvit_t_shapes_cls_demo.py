# The main job's pretraining: the SecViT-T classifier of secvit_t_in1k.py (mmpretrain) trained from
# scratch to tell the 4 demo shapes apart, on 64x64 crops of single shapes (tools/make_demo_data.py
# --which crops). Its backbone then initialises the demo Mask R-CNN through
# init_cfg=dict(type='Pretrained', prefix='backbone.'): the papers' ImageNet-then-COCO workflow in
# miniature. No Mixup / CutMix / RandAugment / EMA: a few hundred steps on 4 classes.
_base_ = ['../secvit_t_in1k.py']

data_root = 'data/demo/shape_crops'
crop = 64
num_classes = 4

data_preprocessor = dict(num_classes=num_classes)
model = dict(
    backbone=dict(drop_path_rate=0.),
    head=dict(num_classes=num_classes),
    train_cfg=None)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop, crop_ratio_range=(0.7, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 5  # 160 steps of 32 crops
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=20, end=max_epochs * 32),
]
custom_hooks = [dict(type='RNGStateHook')]  # no EMA: over 160 steps it would keep the initial weights
default_hooks = dict(logger=dict(interval=8), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
