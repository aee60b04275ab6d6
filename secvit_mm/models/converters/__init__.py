"""Released checkpoints -> this package's keys. The converters live beside the models they serve
(:mod:`secvit_mm.core.secvit`, :mod:`secvit_mm.core.ceit`); this module keeps the old import path."""
from ...core.ceit import convert_ceit_checkpoint, is_released_ceit_layout
from ...core.secvit import convert_secvit_checkpoint, infer_secvit_arch, is_released_secvit_layout, match_secvit_arch

__all__ = ['convert_ceit_checkpoint', 'is_released_ceit_layout', 'convert_secvit_checkpoint', 'infer_secvit_arch',
           'is_released_secvit_layout', 'match_secvit_arch']
