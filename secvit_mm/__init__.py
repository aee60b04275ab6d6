"""secvit-mm: SecViT and CeiT backbones in plain PyTorch, for timm and the OpenMMLab stack.

* :mod:`secvit_mm.core`: the models (torch and einops only).
* With timm installed, importing this package registers timm's names (``secvit_tiny``, ...,
  :mod:`secvit_mm.timm_models`).
* With mmengine and mmcv installed (``pip install 'secvit-mm[mm]'`` or ``bash tools/install.sh``),
  importing it (directly or through ``custom_imports``) registers every model piece in mmengine's
  root ``MODELS`` registry, so ``type='SecViT'`` resolves from mmdet, mmseg and mmpretrain.
"""
from .version import __version__, check_requirements

check_requirements()  # before anything below imports mmengine / mmcv internals


def mm_available() -> bool:
    """True when mmengine and mmcv import (the OpenMMLab pieces of this package can be used)."""
    try:
        import mmcv  # noqa: F401
        import mmengine  # noqa: F401
    except ImportError:
        return False
    return True


if mm_available():
    from . import utils  # noqa: F401  (first: makes mmengine checkpoints loadable with safe torch.load)
    from . import models  # noqa: F401

try:
    import timm  # noqa: F401
except ImportError:
    pass
else:
    from . import timm_models  # noqa: F401

__all__ = ['__version__', 'mm_available']
