# upernet_secvit_t_160k_ade20k.py without its data (datasets/ade20k.py): the model, the 160k schedule
# and the runtime, so that configs/demo/upernet_secvit_t_demo.py can list them with the demo data.
# mmseg's Swin-T UperNet config (swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py)
# also sets the data, so it is rebuilt here from its pieces: its own settings are copied (marked
# "Swin-T UperNet"), with the `_scope_='mmseg'` its dicts carry, so the merged configs are the same.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    './secvit_ade20k_runtime.py',  # custom_imports, RNGStateHook, whole / slide test
]

# Swin-T UperNet: its ImageNet weights (unused: the SecViT backbone below replaces Swin's) and the
# input size, datasets/ade20k.py's crop_size.
checkpoint_file = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/swin/swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'  # noqa
data_preprocessor = dict(size=(512, 512))

# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        num_clusters=(32, 8, 2, None),  # the paper's; linear cost: --cfg-options model.backbone.cluster_size=98
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,  # not stated for ADE20K: Swin's UperNet rate (0.3 for T, S and B)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150),
    test_cfg={{_base_.whole_or_slide}})

# Swin-T UperNet's AdamW and schedule; no decay on norms (the Swin keys, pos embeds and bias
# tables, do not exist here).
optim_wrapper = dict(
    _delete_=True,
    _scope_='mmseg',
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'layer_scale': dict(decay_mult=0.)}))
param_scheduler = [
    dict(_scope_='mmseg', type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(_scope_='mmseg', type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
