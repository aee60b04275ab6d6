from .ceit import CeiT, convert_ceit_checkpoint  # noqa: F401
from .secvit import SecViT, convert_secvit_checkpoint

__all__ = ['SecViT', 'convert_secvit_checkpoint']
