"""The SEC block shared by SecViT, SEC-Swin and SEC-FasterViT, and the stage that runs blocks."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.utils.checkpoint as cp
from torch import Tensor, nn

from .layers import ConvFFN, DropPath, LayerNorm2d, NormLayer
from .sec_attention import RotaryEmbedding2d, SECAttention

__all__ = ['SECBlock', 'Stage']


class SECBlock(nn.Module):
    """``x + cpe(x)``; ``x + drop_path(ls1 * attn(norm1(x)))``; ``x + drop_path(ls2 * ffn(norm2(x)))``.

    SecViT's block (CPE, LePE, a depthwise conv in the FFN, LayerNorm eps 1e-6), and with other
    switches the transformer block of SEC-Swin and SEC-FasterViT (no CPE, plain 4x MLP).

    Args:
        embed_dims (int): channels.
        num_heads (int): attention heads.
        num_clusters (int, optional): clusters per image and head (see :class:`SECAttention`).
        cluster_size (int, optional): tokens per cluster instead; takes precedence.
        mlp_ratio (float): hidden channels of the FFN over ``embed_dims``. Defaults to 3.
        drop_path (float): stochastic depth rate of this block. Defaults to 0.
        layer_scale_init_value (float): initial value of the per-channel residual scales; 0 (default)
            builds none.
        use_cpe (bool): the depthwise 3x3 conditional position encoding. Defaults to True.
        use_rope (bool): 2D RoPE on q and k. Defaults to True.
        use_lepe (bool): the depthwise 5x5 local enhancement of v in attention. Defaults to True.
        use_dwconv (bool): the depthwise 3x3 conv inside the FFN. Defaults to True.
        qkv_bias (bool): bias of the qkv projection. Defaults to True.
        grouping (str): 'semantic' (SEC) or 'spatial' (fixed windows, the ablation baseline).
        norm_layer (callable): the two pre-norms. Defaults to ``LayerNorm2d`` with eps 1e-6.

    The attribute names of the FFN and the residual scales are class attributes, so that a family
    keeps its state-dict keys (SEC-FasterViT: ``mlp``, ``gamma1`` / ``gamma2``).
    """
    ffn_name = 'ffn'
    layer_scale_names = ('layer_scale_1', 'layer_scale_2')

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_clusters: Optional[int],
                 cluster_size: Optional[int],
                 mlp_ratio: float = 3.,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 0.,
                 use_cpe: bool = True,
                 use_rope: bool = True,
                 use_lepe: bool = True,
                 use_dwconv: bool = True,
                 qkv_bias: bool = True,
                 grouping: str = 'semantic',
                 norm_layer: Optional[NormLayer] = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = self.default_norm
        self.cpe = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, groups=embed_dims) if use_cpe else None
        self.norm1 = norm_layer(embed_dims)
        self.attn = SECAttention(embed_dims, num_heads, num_clusters, cluster_size, use_rope=use_rope,
                                 use_lepe=use_lepe, qkv_bias=qkv_bias, grouping=grouping)
        self.norm2 = norm_layer(embed_dims)
        setattr(self, self.ffn_name, ConvFFN(embed_dims, int(mlp_ratio * embed_dims), use_dwconv=use_dwconv))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        for name in self.layer_scale_names:
            value = (nn.Parameter(torch.full((1, embed_dims, 1, 1), float(layer_scale_init_value)))
                     if layer_scale_init_value > 0 else None)
            setattr(self, name, value)

    @staticmethod
    def default_norm(channels: int) -> nn.Module:
        return LayerNorm2d(channels, eps=1e-6)

    def forward(self, x: Tensor, rope: Optional[Sequence[Tensor]]) -> Tensor:
        # Sums are taken in place into the branch's fresh output (a conv output nothing saved for
        # backward), not into a new buffer: same values, one large allocation less each.
        if self.cpe is not None:
            x = self.cpe(x).add_(x)
        scale_1, scale_2 = (getattr(self, name) for name in self.layer_scale_names)
        x = self._residual(x, self.attn(self.norm1(x), rope), scale_1)
        return self._residual(x, getattr(self, self.ffn_name)(self.norm2(x)), scale_2)

    def _residual(self, x: Tensor, branch: Tensor, scale: Optional[Tensor]) -> Tensor:
        """``x + drop_path(scale * branch)``."""
        if scale is not None:
            branch = scale * branch
        if self.training and not isinstance(self.drop_path, nn.Identity):
            return x + self.drop_path(branch)
        return branch.add_(x)  # drop path is the identity


class Stage(nn.Module):
    """Blocks at one resolution, then an optional downsample; the output is taken before it.

    Every block is called as ``block(x, rope)``; ``rope`` is the (sin, cos, rotation) table of this
    resolution, computed once for all blocks, or None where the stage has no RoPE.

    Args:
        blocks (list[nn.Module]): the blocks, in order.
        downsample (nn.Module, optional): the module to the next stage's resolution (None for the
            last stage).
        head_dim (int, optional): channels per attention head for the 2D RoPE tables; None builds
            no tables.
        grad_checkpointing (bool): activation checkpointing of each block while training.
    """

    def __init__(self, blocks: List[nn.Module], downsample: Optional[nn.Module] = None,
                 head_dim: Optional[int] = None, grad_checkpointing: bool = False) -> None:
        super().__init__()
        self.rope = RotaryEmbedding2d(head_dim) if head_dim else None
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample
        self.grad_checkpointing = grad_checkpointing

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Returns (feature before the downsample, input of the next stage)."""
        rope = self.rope.tables(x.shape[2], x.shape[3]) if self.rope is not None else None
        for block in self.blocks:
            if self.grad_checkpointing and self.training and x.requires_grad:
                x = cp.checkpoint(block, x, rope, use_reentrant=False)
            else:
                x = block(x, rope)
        return x, (self.downsample(x) if self.downsample is not None else x)
