"""Runtime utilities imported with ``secvit_mm`` (before the models).

* :mod:`.safe_load` -- allow-lists the objects mmengine Runner checkpoints hold, so they load with
  ``torch.load(weights_only=True)``; files holding anything else are refused.
* :mod:`.checkpoint` -- read, check and atomically write checkpoints; the converters' command line.
* :mod:`.benchmarking` -- timing and memory helpers of ``tools/benchmark*.py``.
* :mod:`.file_guard` -- ``type='FileReadGuard'``: a data file the run cannot decode is one line.

The hooks that were here live in :mod:`secvit_mm.engine.hooks` (same registered names); their
names are re-exported below for code that imported them from here.
"""
from secvit_mm.engine.hooks import (ATOMIC_BACKEND_ARGS, AtomicCheckpointHook, AtomicLocalBackend,
                                    GroundTruthGuardHook, RNGStateHook, atomic_write, get_rng_state,
                                    set_rng_state)
from secvit_mm.errors import EmptyGroundTruthError, UnsafeCheckpointError

from .file_guard import FileReadGuard
from .safe_load import SAFE_GLOBALS, load_checkpoint_safely, register_safe_globals

__all__ = [
    'ATOMIC_BACKEND_ARGS', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'atomic_write', 'SAFE_GLOBALS', 'UnsafeCheckpointError',
    'load_checkpoint_safely', 'register_safe_globals', 'GroundTruthGuardHook',
    'EmptyGroundTruthError', 'RNGStateHook', 'get_rng_state', 'set_rng_state',
    'FileReadGuard'
]
