# The paper's COCO 3x recipe for SecViT detectors (appendix B): the 1x recipe
# (secvit_adamw_coco_1x.py) over 36 epochs, lr x0.1 at 27 and 33. Its multi-scale training
# pipeline: ../datasets/coco_*_ms_3x.py.
_base_ = './secvit_adamw_coco_1x.py'

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
