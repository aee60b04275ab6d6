"""Runner extensions of secvit-mm (OpenMMLab layout: ``engine/hooks``)."""
from .hooks import AtomicCheckpointHook, GroundTruthGuardHook, RNGStateHook

__all__ = ['AtomicCheckpointHook', 'GroundTruthGuardHook', 'RNGStateHook']
