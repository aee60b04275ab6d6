# SEC-Swin-T ImageNet-1k classifier (mmpretrain): Swin-T with its window attention replaced by SEC
# attention (secvit_mm/models/backbones/sec_swin.py). Trained with Swin's own mmpretrain recipe
# (the paper compares against Swin: +2.0 top-1 at Tiny/Small): 300 epochs, 224x224, AdamW 1e-3 at
# batch 1024 (16 GPUs x 64), wd 0.05 (none on norms/biases), 20 warmup epochs then cosine to 1e-5,
# grad clip 5.0, RandAugment, Mixup 0.8, CutMix 1.0, RandomErasing 0.25, label smoothing 0.1.
# Params with the head: 28,265,032 (Swin-T 28,288,354 minus its 23,322 relative-position entries).
_base_ = 'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py'
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='SECSwin',
        arch='tiny',
        # 49 tokens per cluster at 224 (a Swin 7x7 window): 3136/49, 784/49, 196/49, stage 4 global.
        num_clusters=(64, 16, 4, None),
        out_indices=(3, ),
        drop_path_rate=0.2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(in_channels=768))

# Crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint) and exact resume: the random
# generators' states are saved with each checkpoint and restored by --resume (secvit_mm.engine.hooks.rng_state).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [dict(type='RNGStateHook')]
