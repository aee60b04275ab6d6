"""Runtime utilities imported with ``secvit_mm`` (before the models).

* :mod:`.safe_load` -- allow-lists the objects mmengine Runner checkpoints hold, so they load with
  ``torch.load(weights_only=True)``; files holding anything else are refused.
* :mod:`.atomic_checkpoint` -- ``type='AtomicCheckpointHook'``: crash-safe checkpoint saving.
* :mod:`.rng_state` -- ``type='RNGStateHook'``: random generator states in checkpoints (exact resume).
* :mod:`.gt_guard` -- ``type='GroundTruthGuardHook'``: stops a run whose epoch had no ground truth.
* :mod:`.file_guard` -- ``type='FileReadGuard'``: a data file the run cannot decode is one line.
"""
from .atomic_checkpoint import (ATOMIC_BACKEND_ARGS, AtomicCheckpointHook,
                                AtomicLocalBackend, atomic_write)
from .file_guard import DataFileError, FileReadGuard, guard_file_loading
from .gt_guard import EmptyGroundTruthError, GroundTruthGuardHook
from .rng_state import RNGStateHook, get_rng_state, set_rng_state
from .safe_load import (SAFE_GLOBALS, UnsafeCheckpointError,
                        load_checkpoint_safely, register_safe_globals)

__all__ = [
    'ATOMIC_BACKEND_ARGS', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'atomic_write', 'SAFE_GLOBALS', 'UnsafeCheckpointError',
    'load_checkpoint_safely', 'register_safe_globals', 'GroundTruthGuardHook',
    'EmptyGroundTruthError', 'RNGStateHook', 'get_rng_state', 'set_rng_state',
    'DataFileError', 'FileReadGuard', 'guard_file_loading'
]
