# The paper's COCO 1x recipe for SecViT detectors (appendix B): AdamW lr 1e-4, weight decay 0.05
# (none on norms and layer scales), 12 epochs, lr x0.1 at 8 and 11, 1000-iteration linear warmup,
# batch 16 (8 GPUs x 2; --auto-scale-lr adapts the lr to other totals). mmdet's 1x schedule
# (loops, 12 epochs) with this optimiser.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

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
