"""Released checkpoints -> this package's keys, one module per model (SecViT, CeiT)."""
from .ceit import convert_ceit_checkpoint, is_released_ceit_layout
from .secvit import convert_secvit_checkpoint, infer_secvit_arch, is_released_secvit_layout, match_secvit_arch

__all__ = ['convert_ceit_checkpoint', 'is_released_ceit_layout', 'convert_secvit_checkpoint', 'infer_secvit_arch',
           'is_released_secvit_layout', 'match_secvit_arch']
