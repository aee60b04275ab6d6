"""SEC-FasterViT as an OpenMMLab backbone: ``type='SECFasterViT'``.

The model is :class:`secvit_mm.core.sec_fastervit.SECFasterViT` (pure torch); this shell adds what is
OpenMMLab's (:class:`~.base.MMBackbone`).
"""
from typing import List, Optional, Sequence, Union

from mmengine.model import BaseModule
from mmengine.registry import MODELS

from ...core import sec_fastervit as core
from ...core.checks import ClusterSpec
from .base import MMBackbone, mm_norm_layer

__all__ = ['SECFasterViT']


@MODELS.register_module()
class SECFasterViT(MMBackbone, core.SECFasterViT, BaseModule):
    """SECFasterViT as an OpenMMLab backbone: ``type='SECFasterViT'``.

    Model arguments: :class:`secvit_mm.core.sec_fastervit.SECFasterViT`; ``frozen_stages``, ``norm_eval``,
    ``with_cp``, ``init_cfg``: :class:`~secvit_mm.models.backbones.base.MMBackbone`.

    Args:
        norm_cfg (dict): the BatchNorms of the stem, the conv stages and the outputs (mmcv
            ``build_norm_layer``), e.g. ``dict(type='SyncBN')``. Default ``dict(type='BN')``
            (the stem's eps is FasterViT's 1e-4 unless ``norm_cfg`` sets one).
    """

    def __init__(self, arch: Union[str, int, dict] = '0', in_channels: int = 3,
                 num_clusters: ClusterSpec = (4, None), cluster_size: ClusterSpec = None,
                 use_rope: bool = True, use_lepe: bool = False, qkv_bias: bool = True,
                 out_indices: Sequence[int] = (3, ), drop_path_rate: Optional[float] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False, init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, in_channels, num_clusters, cluster_size, use_rope, use_lepe, qkv_bias, out_indices,
                         drop_path_rate, norm_layer=mm_norm_layer(norm_cfg),
                         # the stem's BatchNorms: FasterViT's eps 1e-4 unless norm_cfg sets one
                         stem_norm_layer=mm_norm_layer(dict(dict(eps=1e-4), **norm_cfg)),
                         frozen_stages=frozen_stages)
        self.setup_mm(init_cfg, frozen_stages, norm_eval, with_cp)
