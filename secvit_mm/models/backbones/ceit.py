"""CeiT as an OpenMMLab backbone: ``type='CeiT'``.

The model is :class:`secvit_mm.core.ceit.CeiT` (pure torch); this shell adds what is OpenMMLab's
(:class:`~.base.MMBackbone`). Released checkpoints are converted by
:func:`~secvit_mm.core.ceit.convert_ceit_checkpoint`.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from ...core import ceit as core
from ...core.ceit import convert_ceit_checkpoint, is_released_ceit_layout, resize_pos_embed
from .base import MMBackbone, mm_norm_layer

__all__ = ['CeiT', 'convert_ceit_checkpoint', 'resize_pos_embed']


@MODELS.register_module()
class CeiT(MMBackbone, core.CeiT, BaseModule):
    """CeiT as an OpenMMLab backbone: ``type='CeiT'``.

    Model arguments: :class:`secvit_mm.core.ceit.CeiT`; ``frozen_stages``, ``norm_eval``,
    ``with_cp``, ``init_cfg``: :class:`~secvit_mm.models.backbones.base.MMBackbone`.

    Args:
        norm_cfg (dict): norm of the I2T stem and the LeFF convs (e.g. ``dict(type='SyncBN')`` for
            multi-GPU dense prediction). Defaults to ``dict(type='BN')`` (released).
        pyramid_norm_cfg (dict): norm between the two deconvs of the stride-4 pyramid level.
            Defaults to ``dict(type='GN', num_groups=32)``.
        frozen_stages (int): -1 freezes nothing; 0 freezes the I2T stem, class token and position
            embedding; k > 0 also freezes blocks ``0 .. k-1``; ``num_layers`` in ``'cls'`` mode
            also freezes LCA and the final norm. Frozen parts stay in eval mode. Defaults to -1.
        norm_eval (bool): keep every BatchNorm in eval mode (frozen statistics) during training.
            Defaults to False.
        with_cp (bool): gradient checkpointing of each block to save memory. Defaults to False.
        init_cfg (dict | list[dict], optional): initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``; released CeiT
            checkpoints are converted on the fly. Defaults to None.
    """


    def __init__(self, arch: Union[str, dict] = 'tiny', img_size: Optional[Union[int, Tuple[int, int]]] = None,
                 in_channels: int = 3, out_type: str = 'cls', out_indices: Sequence[int] = (3, 5, 8, 11),
                 qkv_bias: bool = True, drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='BN'), pyramid_norm_cfg: dict = dict(type='GN', num_groups=32),
                 frozen_stages: int = -1, norm_eval: bool = False, with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, img_size, in_channels, out_type, out_indices, qkv_bias, drop_rate, attn_drop_rate,
                         drop_path_rate, norm_layer=mm_norm_layer(norm_cfg),
                         pyramid_norm_layer=mm_norm_layer(pyramid_norm_cfg))
        if not -1 <= frozen_stages <= self.num_layers:
            raise ValueError(f'CeiT: frozen_stages must be in [-1, {self.num_layers}], '
                             f'got {frozen_stages}')
        self.setup_mm(init_cfg, frozen_stages, norm_eval, with_cp)

    def pretrained_loader_args(self) -> dict:
        # Only the dense pyramid is new to a classification checkpoint; it keeps its own init.
        return dict(converter=convert_ceit_checkpoint, is_released=is_released_ceit_layout,
                    adapt=lambda sd: self._adapt_state_dict(sd, ''), new_modules=('pyramid.', ))

    def log_info(self, message: str) -> None:
        MMLogger.get_current_instance().info(message)

    def frozen_modules(self) -> List[nn.Module]:
        frozen: List[nn.Module] = [self.i2t, *self.layers[:self.frozen_stages]]
        if self.frozen_stages == self.num_layers and hasattr(self, 'lca'):
            frozen += [self.lca, self.final_norm]
        return frozen

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self.frozen_stages >= 0:  # the embeddings belong to the stem
            self.cls_token.requires_grad = False
            self.pos_embed.requires_grad = False
