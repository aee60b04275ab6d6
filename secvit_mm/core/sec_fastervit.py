"""SEC-FasterViT: FasterViT with SEC attention in place of hierarchical attention (HAT).

FasterViT (Hatamizadeh et al., "FasterViT: Fast Vision Transformers with Hierarchical Attention",
arXiv 2306.06189; public code NVlabs/FasterViT, ``fastervit/models/faster_vit.py``) is a four-stage
hybrid: a two-conv stem (3x3 stride 2 twice, BN eps 1e-4, ReLU), convolutional stages 1-2 of
residual ``conv3x3-BN-GELU-conv3x3-BN`` blocks, transformer stages 3-4, and between stages a
downsample of LayerNorm2d + 3x3 stride-2 conv (no bias) doubling the width; the classifier is
BatchNorm2d + average pool + Linear. The SecViT paper ("The paper's other models") keeps stages 1-2
convolutional and puts SEC attention in stages 3-4, reporting higher accuracy than FasterViT with
fewer parameters.

Published variants (``faster_vit_{0,1}_224`` in NVlabs/FasterViT, window 7, ct_size 2,
hat [False, False, True, False], qkv_bias True, no layer scale; README table):

==========  ===  ======  ============  ==============  =========  ====  =====  ==========  ======
variant     dim  in_dim  depths        heads           mlp_ratio  dpr   top-1  params      FLOPs
==========  ===  ======  ============  ==============  =========  ====  =====  ==========  ======
FasterViT-0  64     64   [2, 3, 6, 5]  [2, 4, 8, 16]   4          0.2   82.1   31.4M       3.3G
FasterViT-1  80     32   [1, 3, 8, 5]  [2, 4, 8, 16]   4          0.2   83.2   53.4M       5.3G
==========  ===  ======  ============  ==============  =========  ====  =====  ==========  ======

What SEC replaces in stages 3-4: the windowed attention with carrier tokens (HAT: the carrier-token
attention + MLP + norms, the TokenInitializer), the per-block MLP-generated absolute position
embedding and the MLP-generated relative position bias (Swin-v2 style). In their place each block is
``x + dp(attn(ln1(x)))``, ``x + dp(mlp(ln2(x)))`` with the shared :class:`SECAttention` (2D RoPE on q
and k as the position signal, no parameters; no LePE by default) and FasterViT's 4x GELU MLP.
Clusters: stage 3 has 14x14 = 196 tokens at 224, i.e. 4 FasterViT windows of 7x7, so 4 clusters of
49 tokens; stage 4 (7x7) is global, as FasterViT's single window there: ``num_clusters=(4, None)``.

Parameters with a 1000-class Linear head (this implementation): SEC-FasterViT-0 23,637,800
(FasterViT-0: 31,404,840 counted from the public code; README 31.4M), SEC-FasterViT-1 39,068,968
(FasterViT-1: 53,366,696; README 53.4M). The difference is exactly HAT's carrier-token branch, the
TokenInitializer and the MLP position embeddings / biases of stages 3-4.
"""
from functools import partial
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .backbone import PyramidBackbone
from .blocks import SECBlock, Stage
from .checks import ClusterSpec
from .layers import DropPath, LayerNorm2d, NormLayer

__all__ = ['SECFasterViT', 'FasterViTConvBlock', 'FasterViTDownsample', 'FasterViTSECBlock', 'FasterViTStem']

_STEM_NORM = partial(nn.BatchNorm2d, eps=1e-4)


class FasterViTStem(nn.Sequential):
    """conv3x3/2 (no bias) + norm (BN eps 1e-4) + ReLU, twice: in -> in_dim -> dim, stride 4."""

    def __init__(self, in_channels: int, in_dim: int, dim: int, norm_layer: NormLayer = _STEM_NORM) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_dim, 3, 2, 1, bias=False), norm_layer(in_dim), nn.ReLU(),
            nn.Conv2d(in_dim, dim, 3, 2, 1, bias=False), norm_layer(dim), nn.ReLU())


class FasterViTConvBlock(nn.Module):
    """``x + dp(gamma * BN(conv3x3(GELU(BN(conv3x3(x))))))`` (FasterViT's stage 1-2 block)."""

    def __init__(self, dim: int, drop_path: float = 0., layer_scale: Optional[float] = None,
                 norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, 1, 1)
        self.norm1 = norm_layer(dim)
        self.act1 = nn.GELU()
        self.conv2 = nn.Conv2d(dim, dim, 3, 1, 1)
        self.norm2 = norm_layer(dim)
        self.gamma = nn.Parameter(torch.full((1, dim, 1, 1), float(layer_scale))) if layer_scale else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor, rope=None) -> Tensor:
        y = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        if self.gamma is not None:
            y = y * self.gamma
        return x + self.drop_path(y)


class FasterViTSECBlock(SECBlock):
    """The SEC block of stages 3-4 under FasterViT's names (``mlp``, ``gamma1`` / ``gamma2``)."""
    ffn_name = 'mlp'
    layer_scale_names = ('gamma1', 'gamma2')


class FasterViTDownsample(nn.Module):
    """LayerNorm2d + 3x3 stride-2 conv without bias, dim -> 2 dim."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.reduction = nn.Conv2d(dim, 2 * dim, 3, 2, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduction(self.norm(x))


class SECFasterViT(PyramidBackbone):
    """SEC-FasterViT backbone: FasterViT's conv stages 1-2 + SEC-attention stages 3-4.

    Args:
        arch: '0' / '1' (or 'fastervit-0' / 'fastervit-1'): the published FasterViT-0 / -1
            dimensions (see the module docstring), or a dict with keys ``dim`` (stage-1 width,
            doubled per stage), ``in_dim`` (stem width), ``depths``, ``num_heads`` (4-sequences) and
            optionally ``mlp_ratio``, ``drop_path_rate``, ``layer_scale``, ``layer_scale_conv``.
        in_channels: input image channels. Default 3.
        num_clusters: clusters per image and head in stages 3 and 4: an int for stage 3 (stage 4
            global) or two values (None / -1 = global). Default (4, None): 49 tokens per cluster at
            224, FasterViT's 7x7 window.
        cluster_size: tokens per cluster instead (same forms); takes precedence over ``num_clusters``.
        use_rope: 2D RoPE on q and k in SEC attention (the position signal that replaces
            FasterViT's MLP position embeddings and bias; no parameters). Default True.
        use_lepe: SecViT's depthwise 5x5 LePE/LCE in attention. Default False.
        qkv_bias: bias of the qkv projection (FasterViT: True).
        out_indices: stages whose outputs are returned (0-3; strides 4, 8, 16, 32; taken before the
            downsample), each through its own BatchNorm2d ``norm{i}`` (FasterViT's final norm is a
            BatchNorm2d on stage 4). Default (3, ).
        drop_path_rate: stochastic depth, linear over all blocks. Default: the arch's (0.2).
        norm_layer: the BatchNorms of the conv stages and the outputs, called with the channels.
            Default ``nn.BatchNorm2d``.
        stem_norm_layer: the BatchNorms of the stem. Default ``nn.BatchNorm2d`` with eps 1e-4
            (FasterViT's).
        grad_checkpointing: activation checkpointing of each block.
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['0', 'fastervit-0'], dict(
            dim=64, in_dim=64, depths=[2, 3, 6, 5], num_heads=[2, 4, 8, 16], mlp_ratio=4., drop_path_rate=0.2)),
        **dict.fromkeys(['1', 'fastervit-1'], dict(
            dim=80, in_dim=32, depths=[1, 3, 8, 5], num_heads=[2, 4, 8, 16], mlp_ratio=4., drop_path_rate=0.2)),
    }
    arch_required = ('dim', 'in_dim', 'depths', 'num_heads')
    arch_optional = ('mlp_ratio', 'drop_path_rate', 'layer_scale', 'layer_scale_conv')
    arch_per_stage = ('depths', 'num_heads')
    conv_stages = 2  # stages 1-2 are convolutional
    channels_last_from = conv_stages  # what SEC attention wants
    attn_stages = range(conv_stages, 4)

    @classmethod
    def stage_widths(cls, settings: dict) -> List[int]:
        return [settings['dim'] * 2**i for i in range(cls.num_stages)]

    def __init__(self, arch: Union[str, int, dict] = '0', in_channels: int = 3,
                 num_clusters: ClusterSpec = (4, None), cluster_size: ClusterSpec = None,
                 use_rope: bool = True, use_lepe: bool = False, qkv_bias: bool = True,
                 out_indices: Sequence[int] = (3, ), drop_path_rate: Optional[float] = None,
                 norm_layer: NormLayer = nn.BatchNorm2d, stem_norm_layer: NormLayer = _STEM_NORM,
                 grad_checkpointing: bool = False, frozen_stages: int = -1) -> None:
        super().__init__()
        rates = self.setup_stages(arch, in_channels, out_indices, drop_path_rate, num_clusters, cluster_size,
                                  use_rope, frozen_stages)
        embed_dims, num_heads = self.embed_dims, self.arch_settings['num_heads']

        layer_scale = self.arch_settings.get('layer_scale')
        layer_scale_conv = self.arch_settings.get('layer_scale_conv')
        mlp_ratio = self.arch_settings.get('mlp_ratio', 4.)
        self.stem = FasterViTStem(in_channels, self.arch_settings['in_dim'], embed_dims[0], stem_norm_layer)
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            if i < self.conv_stages:
                blocks = [FasterViTConvBlock(embed_dims[i], r, layer_scale_conv, norm_layer) for r in rates[i]]
                head_dim = None
            else:
                blocks = [
                    FasterViTSECBlock(embed_dims[i], num_heads[i], self.num_clusters[i], self.cluster_size[i],
                                      mlp_ratio, r, layer_scale or 0., use_cpe=False, use_rope=use_rope,
                                      use_lepe=use_lepe, use_dwconv=False, qkv_bias=qkv_bias,
                                      norm_layer=LayerNorm2d) for r in rates[i]
                ]
                head_dim = embed_dims[i] // num_heads[i] if use_rope else None
            downsample = FasterViTDownsample(embed_dims[i]) if i < self.num_stages - 1 else None
            self.stages.append(Stage(blocks, downsample, head_dim, grad_checkpointing))
        for i in self.out_indices:
            self.add_module(f'norm{i}', norm_layer(embed_dims[i]))

    @staticmethod
    def init_module(module: nn.Module) -> None:
        # FasterViT: trunc-normal 0.02 linears (here the 1x1 convs of the attention stages), unit
        # norms; its 3x3 convs keep PyTorch's default init.
        if isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1):
            nn.init.trunc_normal_(module.weight, std=.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, _BatchNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
