# The ImageNet-1k classifier of the DeiT-style recipes (SecViT, CeiT): a linear head over 1000
# classes with label smoothing 0.1, TruncNormal(0.02) init, and Mixup 0.8 / CutMix 1.0 on the
# training batches. Each config sets the backbone, any neck, and head.in_channels.
model = dict(
    type='ImageClassifier',
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
