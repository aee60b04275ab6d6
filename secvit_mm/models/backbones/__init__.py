from .ceit import CeiT, convert_ceit_checkpoint  # noqa: F401
from .sec_fastervit import SECFasterViT  # noqa: F401
from .sec_swin import SECSwin  # noqa: F401
from .secvit import SecViT, convert_secvit_checkpoint

__all__ = ['SecViT', 'convert_secvit_checkpoint', 'SECSwin', 'SECFasterViT']
