"""One resolution of a pyramid backbone: blocks sharing one RoPE table, then an optional downsample."""
from typing import List, Optional, Tuple

import torch.utils.checkpoint as cp
from torch import Tensor, nn

from .sec_attention import RotaryEmbedding2d

__all__ = ['Stage']


class Stage(nn.Module):
    """Blocks at one resolution, then an optional downsample; the output is taken before it.

    Every block is called as ``block(x, rope)``; ``rope`` is the (sin, cos, rotation) table of this
    resolution, computed once for all blocks, or None where the stage has no RoPE.

    Args:
        blocks: the blocks, in order.
        downsample: the module to the next stage's resolution (None for the last stage).
        head_dim: channels per attention head for the 2D RoPE tables; None builds no tables.
        with_cp: activation checkpointing of each block while training.
    """

    def __init__(self, blocks: List[nn.Module], downsample: Optional[nn.Module] = None,
                 head_dim: Optional[int] = None, with_cp: bool = False) -> None:
        super().__init__()
        self.rope = RotaryEmbedding2d(head_dim) if head_dim else None
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample
        self.with_cp = with_cp

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Returns (feature before the downsample, input of the next stage)."""
        rope = self.rope.tables(x.shape[2], x.shape[3]) if self.rope is not None else None
        for block in self.blocks:
            if self.with_cp and self.training and x.requires_grad:
                x = cp.checkpoint(block, x, rope, use_reentrant=False)
            else:
                x = block(x, rope)
        return x, (self.downsample(x) if self.downsample is not None else x)
