# Runtime additions of the ADE20K configs, next to mmseg's default runtime: the package imported,
# exact resume (secvit_mm.engine.hooks.rng_state: the random generators' states are saved with each
# checkpoint and restored by --resume) and the test mode. Crash-safe checkpoints
# (default_hooks.checkpoint: AtomicCheckpointHook) are set by each config or its model + schedule
# piece (semfpn_secvit_t_80k.py, upernet_secvit_t_160k.py), since mmseg's schedules
# own default_hooks and two bases of one config cannot both set a key.
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)
custom_hooks = [dict(type='RNGStateHook')]

# Test (model.test_cfg): the whole (2048, 512)-resized image in one pass (mode='whole', the paper's
# protocol). In paper clustering mode its cost grows with the square of the pixels; 512x512 windows
# at stride 341 (mode='slide') bound it. Choose with --cfg-options model.test_cfg.mode=slide;
# measured time and memory of both: docs/segmentation_test_modes.md.
whole_or_slide = dict(mode='whole', crop_size=(512, 512), stride=(341, 341))
