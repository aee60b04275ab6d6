"""What makes a model of :mod:`secvit_mm.core` an OpenMMLab backbone: :class:`MMBackbone`.

A registered backbone is ``class X(MMBackbone, core.X, BaseModule)``: the module tree, the forward
and the checks are the core model's (so state-dict keys and outputs are the same); this mixin holds
only what is OpenMMLab's, the same way for all of them: ``init_cfg`` / ``init_weights``
(``Pretrained`` strictly through :func:`load_pretrained_backbone`, otherwise the family's own init),
``norm_cfg`` (mmcv ``build_norm_layer``, e.g. SyncBN), ``frozen_stages`` / ``norm_eval`` as mmdet and
mmpretrain backbones behave, and ``with_cp``.
"""
import copy
from typing import Callable, List, Optional, Union

from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...core.backbone import init_transformer_weights
from ...core.checks import check_stage_args, drop_path_rates, per_stage
from ..pretrained import load_pretrained_backbone, pretrained_init_cfg

__all__ = ['MMBackbone', 'check_stage_args', 'drop_path_rates', 'init_transformer_weights', 'mm_act_layer',
           'mm_norm_layer', 'per_stage']


def mm_norm_layer(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """The core models' ``norm_layer`` (channels -> module) from an mmcv ``norm_cfg``."""
    return lambda channels: build_norm_layer(norm_cfg, channels)[1]


def mm_act_layer(act_cfg: dict) -> Callable[[], nn.Module]:
    """The core models' ``act_layer`` from an mmcv ``act_cfg``."""
    return lambda: build_activation_layer(act_cfg)


class MMBackbone:
    """Mixin (first base) of the registered backbones; ``BaseModule`` comes last in the bases.

    The subclass's ``__init__`` builds the core model (``super().__init__(...)``) and then calls
    :meth:`setup_mm`. Hooks: :meth:`pretrained_loader_args` (converter etc. for
    ``init_cfg=dict(type='Pretrained')``) and :meth:`frozen_modules` where the model is not a stage
    pyramid (CeiT).

    The arguments every registered backbone takes:

    Args:
        frozen_stages (int): freeze the stem (0) and stages up to this index; -1 (default) freezes
            nothing. Frozen parts stay in eval mode.
        norm_eval (bool): keep BatchNorm layers in eval mode while training. Defaults to False.
        with_cp (bool): activation checkpointing of each block (less memory, more compute).
        init_cfg (dict, optional): mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``: loaded strictly through
            :func:`~secvit_mm.models.pretrained.load_pretrained_backbone` (missing, unexpected or
            mis-shaped keys are an error); released SecViT / CeiT checkpoints are converted on the fly.
    """

    frozen_stages: int = -1
    norm_eval: bool = False

    def setup_mm(self, init_cfg: Optional[Union[dict, List[dict]]], frozen_stages: int, norm_eval: bool,
                 with_cp: bool) -> None:
        self.init_cfg = copy.deepcopy(init_cfg)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        if with_cp:
            self.set_grad_checkpointing(True)
        self._freeze_stages()

    # ---------------------------------------------------------------------------------- init
    def pretrained_loader_args(self) -> dict:
        """Keyword arguments of :func:`load_pretrained_backbone` (e.g. a released-checkpoint converter)."""
        return {}

    def init_weights(self) -> None:
        if self.is_init:
            return super().init_weights()  # mmengine warns and does nothing
        if pretrained_init_cfg(self.init_cfg, type(self).__name__) is not None:
            # Instead of mmengine's PretrainedInit, which loads with strict=False and only logs what
            # did not match: converts released checkpoints and refuses a half-matching one.
            load_pretrained_backbone(self, self.init_cfg, **self.pretrained_loader_args())
            self.is_init = True
            return
        self.reset_weights()
        super().init_weights()  # any other init_cfg (e.g. a Constant override) applies on top

    # ---------------------------------------------------------------------------------- train modes
    def frozen_modules(self) -> List[nn.Module]:
        """What ``frozen_stages`` (>= 0) freezes: the stem, the first stages and their output norms."""
        return [getattr(self, self.stem_name), *self.stages[:self.frozen_stages],
                *(getattr(self, f'norm{i}') for i in self.out_indices
                  if i < self.frozen_stages and hasattr(self, f'norm{i}'))]

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Frozen modules stay in eval mode; with ``norm_eval`` so do all BatchNorms (frozen
        statistics for small detection batches)."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
