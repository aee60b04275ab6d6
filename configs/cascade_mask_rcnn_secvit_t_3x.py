# Cascade Mask R-CNN + FPN with SecViT-T, COCO, the paper's 3x + multi-scale recipe (appendix B): the 1x config
# with 36 epochs (lr x0.1 at 27 and 33) and the short side drawn from 480..800 in steps of 32,
# long side <= 1333. The paper names only this resize (mmdet's Swin 3x config adds a crop branch).
_base_ = ['./cascade_mask_rcnn_secvit_t_1x.py']

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, short) for short in range(480, 801, 32)],  # (w, h): (1333, 480) ... (1333, 800)
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
