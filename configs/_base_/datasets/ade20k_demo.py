# The built-in ADE20K-layout demo set (tools/make_demo_data.py: textured regions with ADE20K label
# ids, 0 = ignored) in place of ade20k.py: 128x128 crops, batch 2 (the SyncBN heads, turned into BN
# on one process, need 2 images per step). configs/demo/{semfpn,upernet}_secvit_t_demo.py list it
# with the model and schedule piece of their paper config.
_base_ = 'mmseg::_base_/datasets/ade20k.py'

data_root = 'data/demo/ade/ADEChallengeData2016'
crop_size = (128, 128)
image_scale = (512, 128)  # (w, h) bound, as (2048, 512) is for ADE20K

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
