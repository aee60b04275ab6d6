# Runtime of the COCO configs: mmdet's default runtime, the package imported (and its TTA model),
# --tta settings, crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint) and exact
# resume: the random generators' states are saved with each checkpoint and restored by --resume
# (secvit_mm.engine.hooks.rng_state).
_base_ = [
    'mmdet::_base_/default_runtime.py',
    './tta_coco.py',  # tta_model / tta_pipeline: flip x 3 scales (tools/test.py --tta)
]
custom_imports = dict(imports=['secvit_mm', 'secvit_mm.models.det_tta'], allow_failed_imports=False)

default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [dict(type='RNGStateHook')]
