"""Hooks registered in mmengine's ``HOOKS`` when ``secvit_mm`` is imported.

* :mod:`.atomic_checkpoint` -- ``type='AtomicCheckpointHook'``: crash-safe checkpoint saving
  (and :func:`atomic_write`, the project's one way to replace a file).
* :mod:`.rng_state` -- ``type='RNGStateHook'``: random generator states in checkpoints (exact resume).
* :mod:`.gt_guard` -- ``type='GroundTruthGuardHook'``: stops a run whose epoch had no ground truth.
"""
from .atomic_checkpoint import ATOMIC_BACKEND_ARGS, AtomicCheckpointHook, AtomicLocalBackend, atomic_write
from .gt_guard import GroundTruthGuardHook, count_ground_truth
from .rng_state import RNGStateHook, get_rng_state, set_rng_state

__all__ = [
    'ATOMIC_BACKEND_ARGS', 'AtomicCheckpointHook', 'AtomicLocalBackend', 'atomic_write', 'GroundTruthGuardHook',
    'count_ground_truth', 'RNGStateHook', 'get_rng_state', 'set_rng_state'
]
