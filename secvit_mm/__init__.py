"""secvit-mm: SecViT and CeiT backbones for MMDetection, MMSegmentation and MMPretrain.

Importing this package (directly or through ``custom_imports``) registers every model piece in
mmengine's root ``MODELS`` registry, so ``type='SecViT'`` resolves from mmdet, mmseg and mmpretrain.
"""
from .version import __version__, check_requirements

check_requirements()  # before anything below imports mmengine / mmcv internals
from . import utils  # noqa: F401  (first: makes mmengine checkpoints loadable with safe torch.load)
from . import models  # noqa: F401

__all__ = ['__version__']
