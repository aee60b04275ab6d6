# semfpn_secvit_t_80k_ade20k.py without its data (datasets/ade20k.py): the model, the 80k schedule
# and the runtime, so that configs/demo/semfpn_secvit_t_demo.py can list them with the demo data.
_base_ = [
    './models/fpn_secvit_t.py',  # backbone, weights, drop path per size
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
    './secvit_ade20k_runtime.py',  # custom_imports, RNGStateHook, whole / slide test
]

model = dict(
    data_preprocessor=dict(size=(512, 512)),  # datasets/ade20k.py's crop_size
    decode_head=dict(num_classes=150),
    test_cfg={{_base_.whole_or_slide}})

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=80000, by_epoch=False),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
