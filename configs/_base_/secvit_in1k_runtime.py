# Runtime of the ImageNet-1k configs: mmpretrain's default runtime, the package imported, and
# crash-safe checkpoints (secvit_mm.engine.hooks.atomic_checkpoint). Each config's custom_hooks
# add RNGStateHook, which makes --resume exact.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)

default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
