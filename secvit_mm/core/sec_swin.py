"""SEC-Swin: Swin Transformer with its (shifted) window attention replaced by SEC attention.

The SecViT paper (arXiv 2405.13337, "The paper's other models") swaps Swin-T / Swin-S window
attention for Semantic Equitable Clustering and adds nothing else: no CPE, no conv stem. This module
is that model: Swin's 4x4 patch embedding + LayerNorm, four stages of pre-norm blocks
(``x + attn(ln(x))``, ``x + mlp(ln(x))`` with a 4x GELU MLP), Swin's 2x2 patch merging between
stages, one LayerNorm per output. The attention is the package's shared :class:`SECAttention`.

Choices (Swin's position information lives inside its window attention, so it goes with it):

* Swin's relative position bias tables are dropped (they index pairs inside a fixed 7x7 window, which
  semantic clusters do not have). Position enters through SEC attention's own parameter-free 2D RoPE
  on q and k (``use_rope=True``, default). LePE (the paper's "LCE", a separately ablated addition) is
  off by default (``use_lepe=False``). The shifted-window alternation has no meaning for semantic
  clusters and is dropped.
* Clusters per stage: the same number of tokens per cluster as a Swin 7x7 window at 224x224, i.e.
  3136 / 49 = 64, 784 / 49 = 16, 196 / 49 = 4, and stage 4 (49 tokens) global attention:
  ``num_clusters=(64, 16, 4, None)``. ``cluster_size=49`` keeps 49 tokens per cluster at any size.
* Everything runs on NCHW maps: Swin's Linear layers are 1x1 convs (same parameter counts).

Parameters with a 1000-class Linear head: Swin-T 28,288,354 minus its 23,322 relative-position
entries (169 per head per block) = 28,265,032; Swin-S 49,606,258 - 47,658 = 49,558,600.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .backbone import PyramidBackbone
from .blocks import SECBlock, Stage
from .checks import ClusterSpec
from .layers import LayerNorm2d, NormLayer, pad_to_multiple

__all__ = ['SECSwin', 'PatchMerging2d', 'SwinPatchEmbed']

# Tokens per cluster = Swin's 7x7 window at 224x224; the last stage (7x7 tokens) is global.
SWIN_WINDOW_CLUSTERS = (64, 16, 4, None)


class SwinPatchEmbed(nn.Module):
    """Swin's stem: 4x4 stride-4 conv + LayerNorm (input zero-padded to a multiple of 4)."""

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int = 4,
                 norm_layer: NormLayer = LayerNorm2d) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size)
        self.norm = norm_layer(embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.proj(pad_to_multiple(x, self.patch_size)))


class PatchMerging2d(nn.Module):
    """Swin's patch merging on NCHW: concat each 2x2 neighbourhood (4C), LayerNorm, 1x1 conv to 2C.

    Channel order of the concat is Swin's: (0,0), (1,0), (0,1), (1,1) offsets (row, col). Odd sizes
    are zero-padded on the bottom/right, so the output is ceil(h / 2) x ceil(w / 2).
    """

    def __init__(self, in_channels: int, out_channels: int, norm_layer: NormLayer = LayerNorm2d) -> None:
        super().__init__()
        self.norm = norm_layer(4 * in_channels)
        self.reduction = nn.Conv2d(4 * in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = pad_to_multiple(x, 2)
        x = torch.cat((x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]), 1)
        return self.reduction(self.norm(x))


class SECSwin(PyramidBackbone):
    """SEC-Swin backbone: Swin Transformer with SEC attention in place of window attention.

    Args:
        arch: 'tiny' / 'small' (or 't' / 's'): Swin-T / Swin-S dimensions (embed 96, depths
            [2, 2, 6, 2] / [2, 2, 18, 2], heads [3, 6, 12, 24], MLP ratio 4), or a dict with keys
            ``embed_dims`` (int, stage 1; doubled per stage), ``depths``, ``num_heads`` and
            optionally ``mlp_ratio``, ``drop_path_rate``.
        in_channels: input image channels. Default 3.
        num_clusters: clusters per image and head, an int for stages 1-3 (stage 4 global) or 4
            values (None / -1 = global). Default (64, 16, 4, None): 49 tokens per cluster at 224,
            the size of a Swin window.
        cluster_size: tokens per cluster instead (int for stages 1-3 or 4 values); takes precedence.
        use_rope: 2D RoPE on q and k inside SEC attention (replaces Swin's relative position bias as
            the position signal; no parameters). Default True.
        use_lepe: the depthwise 5x5 LePE/LCE of SecViT's attention. Default False (not in Swin).
        out_indices: stages whose outputs are returned (0-3; strides 4, 8, 16, 32; taken before the
            patch merging), each through its own LayerNorm ``norm{i}``. Default (3, ).
        drop_path_rate: stochastic depth, linear over blocks. Default: the arch's (T 0.2, S 0.3).
        norm_layer: every LayerNorm (patch embedding, blocks, patch merging, outputs), called with
            the channels on NCHW maps. Default :class:`LayerNorm2d` (eps 1e-5, Swin's).
        grad_checkpointing: activation checkpointing of each block.
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['t', 'tiny'], dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
                                           mlp_ratio=4., drop_path_rate=0.2)),
        **dict.fromkeys(['s', 'small'], dict(embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24],
                                            mlp_ratio=4., drop_path_rate=0.3)),
    }
    arch_required = ('embed_dims', 'depths', 'num_heads')
    arch_optional = ('mlp_ratio', 'drop_path_rate')
    arch_per_stage = ('depths', 'num_heads')
    stem_name = 'patch_embed'

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3,
                 num_clusters: ClusterSpec = SWIN_WINDOW_CLUSTERS, cluster_size: ClusterSpec = None,
                 use_rope: bool = True, use_lepe: bool = False,
                 out_indices: Sequence[int] = (3, ), drop_path_rate: Optional[float] = None,
                 norm_layer: NormLayer = LayerNorm2d, grad_checkpointing: bool = False,
                 frozen_stages: int = -1) -> None:
        super().__init__()
        rates = self.setup_stages(arch, in_channels, out_indices, drop_path_rate, num_clusters, cluster_size,
                                  use_rope, frozen_stages)
        embed_dims, num_heads = self.embed_dims, self.arch_settings['num_heads']

        self.patch_embed = SwinPatchEmbed(in_channels, embed_dims[0], norm_layer=norm_layer)
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            blocks = [
                SECBlock(embed_dims[i], num_heads[i], self.num_clusters[i], self.cluster_size[i],
                         mlp_ratio=self.arch_settings.get('mlp_ratio', 4.), drop_path=rate, use_cpe=False,
                         use_rope=use_rope, use_lepe=use_lepe, use_dwconv=False, norm_layer=norm_layer)
                for rate in rates[i]
            ]
            downsample = (PatchMerging2d(embed_dims[i], embed_dims[i + 1], norm_layer)
                          if i < self.num_stages - 1 else None)
            head_dim = embed_dims[i] // num_heads[i] if use_rope else None
            self.stages.append(Stage(blocks, downsample, head_dim, grad_checkpointing))
        for i in self.out_indices:
            self.add_module(f'norm{i}', norm_layer(embed_dims[i]))

    @classmethod
    def check_arch(cls, settings: dict) -> None:
        if not isinstance(settings['embed_dims'], int):
            raise ValueError(f"arch['embed_dims'] is the stage-1 width (an int), got {settings['embed_dims']!r}")
