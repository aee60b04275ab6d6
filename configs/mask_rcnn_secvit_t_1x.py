# Mask R-CNN + FPN with SecViT-T, COCO, the paper's 1x recipe (appendix B): AdamW lr 1e-4,
# weight decay 0.05 (none on norms), 12 epochs, lr x0.1 at 8 and 11, 1000-iteration linear warmup,
# single scale 1333x800, batch 16 (8 GPUs x 2; --auto-scale-lr adapts the lr to other totals).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/tta_coco.py',  # tta_model / tta_pipeline: flip x 3 scales (tools/test.py --tta)
]
custom_imports = dict(imports=['secvit_mm', 'secvit_mm.models.det_tta'], allow_failed_imports=False)

# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        # The paper's clusters (32, 8, 2, global). Fixed-size clusters, linear in the image size:
        # --cfg-options model.backbone.cluster_size=98
        num_clusters=(32, 8, 2, None),
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,  # not stated for detection: the ImageNet rate (PVT practice; Swin-T uses 0.2)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'layer_scale': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint) and exact resume: the random
# generators' states are saved with each checkpoint and restored by --resume (secvit_mm.engine.hooks.rng_state).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [dict(type='RNGStateHook')]
