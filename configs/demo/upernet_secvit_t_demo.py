# UperNet SecViT-T (upernet_secvit_t_160k_ade20k.py) on the built-in ADE20K-layout demo set
# (tools/make_demo_data.py: textured regions with ADE20K label ids, 0 = ignored): 128x128 crops,
# batch 2 (the SyncBN heads, turned into BN on one process, need 2 images per step), 200 iterations
# from scratch, a few minutes on a CPU. Evaluation: IoUMetric (mIoU) on the demo validation split.
_base_ = ['../upernet_secvit_t_160k_ade20k.py']

data_root = 'data/demo/ade/ADEChallengeData2016'
crop_size = (128, 128)
image_scale = (512, 128)  # (w, h) bound, as (2048, 512) is for ADE20K

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None, drop_path_rate=0.),  # no ImageNet weights on a fresh machine
    decode_head=dict(channels=128),
    auxiliary_head=dict(channels=64))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=image_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# tools/test.py --tta: mmseg's ADE20K flips and scales (0.5-1.75), relative to this config's size.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[
             [dict(type='Resize', scale=(int(image_scale[0] * r), int(image_scale[1] * r)), keep_ratio=True)
              for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)],
             [dict(type='RandomFlip', prob=0., direction='horizontal'),
              dict(type='RandomFlip', prob=1., direction='horizontal')],
             [dict(type='LoadAnnotations')],
             [dict(type='PackSegInputs')],
         ]),
]
train_dataloader = dict(
    batch_size=2, num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-4))  # from scratch, batch 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False),
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)  # the same run every time (initial weights, data order, augmentation)
