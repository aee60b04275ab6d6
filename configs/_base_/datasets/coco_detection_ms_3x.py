# mmdet's COCO detection set with the paper's 3x multi-scale training resize (appendix B): the short
# side drawn from 480..800 in steps of 32, long side <= 1333. The paper names only this resize
# (mmdet's Swin 3x config adds a crop branch).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, short) for short in range(480, 801, 32)],  # (w, h): (1333, 480) ... (1333, 800)
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
