# SEC-Swin-S ImageNet-1k classifier: Swin-S with SEC attention, Swin's mmpretrain recipe (see
# sec_swin_t_in1k.py). Params with the head: 49,558,600 (Swin-S 49,606,258 minus 47,658
# relative-position entries).
_base_ = 'mmpretrain::swin_transformer/swin-small_16xb64_in1k.py'
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='SECSwin',
        arch='small',
        num_clusters=(64, 16, 4, None),  # 49 tokens per cluster at 224, stage 4 global
        out_indices=(3, ),
        drop_path_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(in_channels=768))

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint) and exact resume: the random
# generators' states are saved with each checkpoint and restored by --resume (secvit_mm.engine.hooks.rng_state).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [dict(type='RNGStateHook')]
