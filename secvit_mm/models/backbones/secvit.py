"""SecViT as an OpenMMLab backbone: ``type='SecViT'``.

The model is :class:`secvit_mm.core.secvit.SecViT` (pure torch); this shell adds what is
OpenMMLab's (:class:`~.base.MMBackbone`). Released checkpoints are converted by
:func:`~secvit_mm.core.secvit.convert_secvit_checkpoint`.
"""
from typing import List, Optional, Sequence, Union

from mmengine.model import BaseModule
from mmengine.registry import MODELS

from ...core import secvit as core
from ...core.checks import ClusterSpec
from ...core.secvit import PAPER_NUM_CLUSTERS, convert_secvit_checkpoint, is_released_secvit_layout
from .base import MMBackbone, mm_act_layer, mm_norm_layer

__all__ = ['SecViT', 'convert_secvit_checkpoint']


@MODELS.register_module()
class SecViT(MMBackbone, core.SecViT, BaseModule):
    """SecViT as an OpenMMLab backbone: ``type='SecViT'``.

    Model arguments: :class:`secvit_mm.core.secvit.SecViT`; ``frozen_stages``, ``norm_eval``,
    ``with_cp``, ``init_cfg``: :class:`~secvit_mm.models.backbones.base.MMBackbone`.

    Args:
        norm_cfg (dict): norm of the conv stem and the downsamples (mmcv ``build_norm_layer``),
            e.g. ``dict(type='SyncBN')`` for multi-GPU training. Default ``dict(type='BN')`` (released).
        act_cfg (dict): activation of the conv stem. Default ``dict(type='GELU')`` (released).
    """

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3,
                 num_clusters: ClusterSpec = PAPER_NUM_CLUSTERS, cluster_size: ClusterSpec = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3), drop_path_rate: Optional[float] = None,
                 layer_scale_init_value: float = 1e-6,
                 use_cpe: bool = True, use_lepe: bool = True, stem_type: str = 'conv', attn_type: str = 'sec',
                 frozen_stages: int = -1, norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='GELU'),
                 with_cp: bool = False, init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, in_channels, num_clusters, cluster_size, out_indices, drop_path_rate,
                         layer_scale_init_value, use_cpe, use_lepe, stem_type, attn_type,
                         norm_layer=mm_norm_layer(norm_cfg), act_layer=mm_act_layer(act_cfg),
                         frozen_stages=frozen_stages)
        self.setup_mm(init_cfg, frozen_stages, norm_eval, with_cp)

    def pretrained_loader_args(self) -> dict:
        return dict(converter=convert_secvit_checkpoint, is_released=is_released_secvit_layout)
