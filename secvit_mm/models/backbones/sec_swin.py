"""SEC-Swin as an OpenMMLab backbone: ``type='SECSwin'``.

The model is :class:`secvit_mm.core.sec_swin.SECSwin` (pure torch); this shell adds what is
OpenMMLab's (:class:`~.base.MMBackbone`).
"""
from typing import Callable, List, Optional, Sequence, Union

from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import nn

from ...core import sec_swin as core
from ...core.checks import ClusterSpec
from ...core.layers import LayerNorm2d
from ...core.sec_swin import SWIN_WINDOW_CLUSTERS
from .base import MMBackbone, mm_norm_layer

__all__ = ['SECSwin']


def swin_norm_layer(norm_cfg: dict) -> Callable[[int], nn.Module]:
    """``type='LN'`` (mmdet Swin's default) is a LayerNorm over the channels of the NCHW maps here."""
    cfg = dict(norm_cfg)
    if cfg.pop('type', None) == 'LN':
        extra = set(cfg) - {'eps', 'elementwise_affine', 'requires_grad'}
        if extra:
            raise ValueError(f"SECSwin norm_cfg type='LN' takes eps (and requires_grad), got {sorted(extra)}")
        eps, requires_grad = cfg.get('eps', 1e-5), cfg.get('requires_grad', True)

        def build(channels: int) -> nn.Module:
            norm = LayerNorm2d(channels, eps=eps)
            norm.requires_grad_(requires_grad)
            return norm
        return build
    return mm_norm_layer(norm_cfg)


@MODELS.register_module()
class SECSwin(MMBackbone, core.SECSwin, BaseModule):
    """SECSwin as an OpenMMLab backbone: ``type='SECSwin'``.

    Model arguments: :class:`secvit_mm.core.sec_swin.SECSwin`; ``frozen_stages``, ``norm_eval``,
    ``with_cp``, ``init_cfg``: :class:`~secvit_mm.models.backbones.base.MMBackbone`.

    Args:
        norm_cfg (dict): the norms of the patch embedding, the blocks, the patch merging and the
            outputs, as mmdet's Swin takes it. Default ``dict(type='LN')``: LayerNorm over the
            channels (``eps`` from the cfg, default 1e-5); another mmcv norm (e.g.
            ``dict(type='SyncBN')``) is built with ``build_norm_layer`` and runs on the NCHW maps.
    """

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3,
                 num_clusters: ClusterSpec = SWIN_WINDOW_CLUSTERS, cluster_size: ClusterSpec = None,
                 use_rope: bool = True, use_lepe: bool = False,
                 out_indices: Sequence[int] = (3, ), drop_path_rate: Optional[float] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False, init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, in_channels, num_clusters, cluster_size, use_rope, use_lepe, out_indices,
                         drop_path_rate, norm_layer=swin_norm_layer(norm_cfg), frozen_stages=frozen_stages)
        self.setup_mm(init_cfg, frozen_stages, norm_eval, with_cp)
