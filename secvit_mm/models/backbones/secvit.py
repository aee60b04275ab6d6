"""SecViT: Semantic Equitable Clustering Vision Transformer (arXiv 2405.13337).

A four-stage NCHW pyramid (strides 4 / 8 / 16 / 32) whose blocks are
``x + cpe(x)``, ``x + attn(ln(x))`` with SEC attention, ``x + ffn(ln(x))``. Exact to the authors'
released classification model (``KClusterFormerSimpleNew``; their ``_M`` is SecViT-B here), with
two additions for dense prediction: any input size (uneven clusters are padded and masked), and an
optional fixed ``cluster_size`` whose cost grows linearly with the image.

The released checkpoints use other module names; :mod:`secvit_mm.models.converters.secvit` maps them.
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..layers import ConvFFN, LayerNorm2d, SECAttention, Stage
from ..converters.secvit import convert_secvit_checkpoint, is_released_secvit_layout
from .base import BaseBackbone, ClusterSpec
from ..input_checks import _checking

__all__ = ['SecViT', 'convert_secvit_checkpoint']

# The paper's clusters per stage; stage 4 runs global attention.
PAPER_NUM_CLUSTERS = (32, 8, 2, None)


class ConvStem(nn.Sequential):
    """Four 3x3 convs (strides 2, 1, 1, 2) with norms; activations between, none at the end. Stride 4.

    A Sequential so that its indices match the released ``patch_embed.proj.{0..10}`` keys.
    """

    def __init__(self, in_channels: int, embed_dims: int, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU')) -> None:
        mid = embed_dims // 2
        layers = []
        for i, (cin, cout, stride) in enumerate(
                [(in_channels, mid, 2), (mid, mid, 1), (mid, mid, 1), (mid, embed_dims, 2)]):
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), build_norm_layer(norm_cfg, cout)[1]]
            if i < 3:
                layers.append(build_activation_layer(act_cfg))
        super().__init__(*layers)


class PatchStem(nn.Module):
    """4x4 stride-4 conv + LayerNorm over channels: the ViT / Swin patch embedding (ablation stem)."""

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, 4, 4)
        self.norm = LayerNorm2d(embed_dims, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        # Pad bottom/right to a multiple of 4 so the grid is ceil(H / 4) x ceil(W / 4), as with ConvStem.
        pad_h, pad_w = -x.shape[2] % 4, -x.shape[3] % 4
        if pad_h or pad_w:
            x = nn.functional.pad(x, (0, pad_w, 0, pad_h))
        return self.norm(self.proj(x))


class ConvDownsample(nn.Module):
    """3x3 stride-2 conv + norm between stages (no activation)."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(x))


class SecViTBlock(nn.Module):
    """``x + cpe(x)``; ``x + drop_path(gamma1 * attn(ln1(x)))``; ``x + drop_path(gamma2 * ffn(ln2(x)))``.

    Args:
        embed_dims: channels.
        num_heads: attention heads.
        num_clusters / cluster_size: SEC clustering (see :class:`SECAttention`).
        mlp_ratio: hidden channels of the FFN over ``embed_dims``.
        drop_path: stochastic depth rate of this block.
        layer_scale_init_value: initial value of per-channel residual scales; 0 disables them.
        use_cpe: the depthwise 3x3 conditional position encoding.
        use_lepe: the depthwise 5x5 local enhancement of v in attention.
        grouping: 'semantic' (SEC) or 'spatial' (fixed windows, the ablation baseline).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_clusters: Optional[int],
                 cluster_size: Optional[int],
                 mlp_ratio: float = 3.,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 0.,
                 use_cpe: bool = True,
                 use_lepe: bool = True,
                 grouping: str = 'semantic') -> None:
        super().__init__()
        self.cpe = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, groups=embed_dims) if use_cpe else None
        self.norm1 = LayerNorm2d(embed_dims, eps=1e-6)
        self.attn = SECAttention(embed_dims, num_heads, num_clusters, cluster_size, use_lepe=use_lepe,
                                 grouping=grouping)
        self.norm2 = LayerNorm2d(embed_dims, eps=1e-6)
        self.ffn = ConvFFN(embed_dims, int(mlp_ratio * embed_dims))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if layer_scale_init_value > 0:
            self.layer_scale_1 = nn.Parameter(torch.full((1, embed_dims, 1, 1), layer_scale_init_value))
            self.layer_scale_2 = nn.Parameter(torch.full((1, embed_dims, 1, 1), layer_scale_init_value))
        else:
            self.layer_scale_1 = self.layer_scale_2 = None

    def forward(self, x: Tensor, rope: Tuple[Tensor, Tensor]) -> Tensor:
        # Sums are taken in place into the branch's fresh output (a conv output nothing saved for
        # backward), not into a new buffer: same values, one large allocation less each.
        if self.cpe is not None:
            x = self.cpe(x).add_(x)
        x = self._residual(x, self.attn(self.norm1(x), rope), self.layer_scale_1)
        return self._residual(x, self.ffn(self.norm2(x)), self.layer_scale_2)

    def _residual(self, x: Tensor, branch: Tensor, scale: Optional[Tensor]) -> Tensor:
        """``x + drop_path(scale * branch)``."""
        if scale is not None:
            branch = scale * branch
        if self.training and not isinstance(self.drop_path, nn.Identity):
            return x + self.drop_path(branch)
        return branch.add_(x)  # drop path is the identity


@MODELS.register_module()
class SecViT(BaseBackbone):
    """SecViT backbone (Semantic Equitable Clustering ViT).

    Args:
        arch: 'tiny' / 'small' / 'base' / 'large' (or 't' / 's' / 'b' / 'l'), or a dict with keys
            ``embed_dims``, ``depths``, ``num_heads`` (4-sequences) and optionally ``mlp_ratio``,
            ``drop_path_rate``, ``layer_scale`` (4 bools).
        in_channels: input image channels. Default 3.
        num_clusters: clusters per image and head: an int for stages 1-3 (stage 4 stays global) or
            4 values, None / -1 meaning global. Default: the paper's (32, 8, 2, None).
        cluster_size: tokens per cluster instead (an int for stages 1-3, or 4 values); takes
            precedence over ``num_clusters``. Cost then grows linearly with the image; 98 equals the
            paper's clusters at 224x224 in every clustered stage.
        out_indices: stages whose outputs are returned (0-3, taken before each stage's
            downsample; strides 4, 8, 16, 32). Default (0, 1, 2, 3).
        drop_path_rate: stochastic depth, linearly increasing over blocks. Default: the arch's.
        layer_scale_init_value: initial value of layer scales where the arch uses them. 1e-6.
        use_cpe: conditional position encoding (depthwise 3x3) in every block. Default True.
        use_lepe: local enhancement (depthwise 5x5 on v) in attention. Default True.
        stem_type: 'conv' (the paper's four-conv stem, default) or 'patch' (a 4x4 stride-4 conv +
            LayerNorm patch embedding; ablation, paper Table 6 "conv stem").
        attn_type: 'sec' (semantic clustering, default) or 'window': the same attention and
            parameters over fixed spatial windows (``SECAttention(grouping='spatial')``, same
            cluster sizes); ablation, paper Table 6.
        frozen_stages: freeze the stem (0) and stages up to this index (1-4); -1 freezes nothing.
        norm_eval: keep BatchNorm layers in eval mode while training. Default False.
        norm_cfg: norm layer of the conv stem and the downsamples (mmcv ``build_norm_layer``), e.g.
            ``dict(type='SyncBN')`` for multi-GPU training. Default ``dict(type='BN')`` (released).
        act_cfg: activation of the conv stem. Default ``dict(type='GELU')`` (released).
        with_cp: activation checkpointing of each block (less memory, more compute).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
            Released SecViT checkpoints are converted on the fly; missing, unexpected or mis-shaped
            keys are an error.

    Bad inputs are refused with a ValueError naming the problem (``check_input``): not an
    (N, C, H, W) tensor, a channel count other than ``in_channels``, an empty batch or a side
    under 32 px (the total stride), and NaN / inf values (an error, not a warning: one bad value
    spreads to every token of its cluster; skipped while tracing/exporting). Unknown keyword
    arguments raise a TypeError listing the valid ones.
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=[64, 128, 256, 512], depths=[2, 2, 9, 2], num_heads=[2, 4, 8, 16],
            mlp_ratio=3., drop_path_rate=0.1, layer_scale=[False, False, False, False])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[64, 128, 256, 512], depths=[3, 4, 18, 4], num_heads=[2, 4, 8, 16],
            mlp_ratio=3., drop_path_rate=0.15, layer_scale=[False, False, False, False])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[80, 160, 320, 512], depths=[4, 8, 26, 8], num_heads=[5, 5, 10, 16],
            mlp_ratio=3., drop_path_rate=0.4, layer_scale=[False, False, True, True])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[112, 224, 448, 640], depths=[4, 8, 26, 8], num_heads=[7, 7, 14, 20],
            mlp_ratio=3., drop_path_rate=0.5, layer_scale=[False, False, True, True])),
    }
    arch_required = ('embed_dims', 'depths', 'num_heads')
    arch_optional = ('mlp_ratio', 'drop_path_rate', 'layer_scale')
    arch_per_stage = ('embed_dims', 'depths', 'num_heads')

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3,
                 num_clusters: ClusterSpec = PAPER_NUM_CLUSTERS, cluster_size: ClusterSpec = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3), drop_path_rate: Optional[float] = None,
                 layer_scale_init_value: float = 1e-6,
                 use_cpe: bool = True, use_lepe: bool = True, stem_type: str = 'conv', attn_type: str = 'sec',
                 frozen_stages: int = -1, norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='GELU'),
                 with_cp: bool = False, init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        rates = self.setup_stages(arch, in_channels, out_indices, drop_path_rate, frozen_stages, norm_eval,
                                  num_clusters, cluster_size)
        embed_dims, num_heads = self.embed_dims, self.arch_settings['num_heads']
        layer_scale = self.arch_settings.get('layer_scale', [False] * self.num_stages)
        if stem_type not in ('conv', 'patch'):
            raise ValueError(f"stem_type must be 'conv' or 'patch', got {stem_type!r}")
        if attn_type not in ('sec', 'window'):
            raise ValueError(f"attn_type must be 'sec' or 'window', got {attn_type!r}")
        self.stem_type = stem_type
        self.attn_type = attn_type
        self.with_cp = with_cp

        if stem_type == 'conv':
            self.stem = ConvStem(in_channels, embed_dims[0], norm_cfg, act_cfg)
        else:
            self.stem = PatchStem(in_channels, embed_dims[0])
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            blocks = [
                SecViTBlock(
                    embed_dims[i], num_heads[i], self.num_clusters[i], self.cluster_size[i],
                    mlp_ratio=self.arch_settings.get('mlp_ratio', 3.), drop_path=rate,
                    layer_scale_init_value=layer_scale_init_value if layer_scale[i] else 0.,
                    use_cpe=use_cpe, use_lepe=use_lepe,
                    grouping='semantic' if attn_type == 'sec' else 'spatial') for rate in rates[i]
            ]
            downsample = (ConvDownsample(embed_dims[i], embed_dims[i + 1], norm_cfg)
                          if i < self.num_stages - 1 else None)
            self.stages.append(Stage(blocks, downsample, embed_dims[i] // num_heads[i], with_cp))
        self._freeze_stages()

    def pretrained_loader_args(self) -> dict:
        return dict(converter=convert_secvit_checkpoint, is_released=is_released_secvit_layout)

    def check_input(self, x: Tensor) -> None:
        super().check_input(x)
        self._warn_if_costly(x)

    #: Paper-mode (``num_clusters``) clusters longer than this warn once: quadratic cost. COCO-size
    #: inputs (1333x800) make clusters of about 2 100 tokens; 4000x3000 about 23 000.
    large_cluster_tokens = 8192

    def attention_cost(self, height: int, width: int) -> Tuple[int, float]:
        """(longest count-sized cluster in tokens, attention GFLOPs: q.k and attn.v) for one HxW image.

        Only stages clustered by ``num_clusters`` count towards the longest cluster: their clusters
        grow with the image (fixed-size clusters and the global last stage are the design).
        """
        longest, flops = 0, 0.
        h, w = height, width
        for i in range(self.num_stages):
            h, w = (h + 1) // 2, (w + 1) // 2
            if i == 0:
                h, w = (h + 1) // 2, (w + 1) // 2  # the stem's two stride-2 steps
            tokens = h * w
            if self.cluster_size[i] is not None:
                length = min(self.cluster_size[i], tokens)
            else:
                length = -(-tokens // min(self.num_clusters[i] or 1, tokens))
                if self.num_clusters[i] is not None:
                    longest = max(longest, length)
            flops += self.arch_settings['depths'][i] * 4 * tokens * length * self.embed_dims[i]
            if i >= max(self.out_indices):
                break
        return longest, flops / 1e9

    def _warn_if_costly(self, x: Tensor) -> None:
        if getattr(self, '_cost_warned', False) or not _checking():
            return
        longest, gflops = self.attention_cost(x.shape[2], x.shape[3])
        if longest > self.large_cluster_tokens:
            self._cost_warned = True
            warnings.warn(
                f'SecViT paper-mode clusters (num_clusters={list(self.num_clusters)}) on a '
                f'{x.shape[3]}x{x.shape[2]} input hold up to {longest} tokens: about {gflops:.3g} '
                'GFLOPs of attention per image, growing with the square of the image size. Set '
                'model.backbone.cluster_size=98 (fixed-size clusters: linear cost) or use a smaller '
                'test scale.', stacklevel=2)
