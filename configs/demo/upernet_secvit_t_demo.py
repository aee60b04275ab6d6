# UperNet SecViT-T (upernet_secvit_t_160k_ade20k.py) on the built-in ADE20K-layout demo set
# (tools/make_demo_data.py: textured regions with ADE20K label ids, 0 = ignored): 128x128 crops,
# batch 2 (the SyncBN heads, turned into BN on one process, need 2 images per step), 200 iterations
# from scratch, a few minutes on a CPU. Evaluation: IoUMetric (mIoU) on the demo validation split.
# The paper config's model, schedule and runtime piece, with the demo data in place of ADE20K.
_base_ = ['../_base_/upernet_secvit_t_160k.py', '../_base_/datasets/ade20k_demo.py']

model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(init_cfg=None, drop_path_rate=0.),  # no ImageNet weights on a fresh machine
    decode_head=dict(channels=128),
    auxiliary_head=dict(channels=64))

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
