"""Small building blocks shared by the models: channel LayerNorm, conv FFN, drop path, padding.

Pure torch (no mmcv): ``DropPath`` is the usual per-sample stochastic depth, the same arithmetic
as mmcv's and timm's.
"""
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .tracing import static_shapes

__all__ = ['ConvFFN', 'DropPath', 'LayerNorm2d', 'NormLayer', 'drop_path', 'pad_to_multiple', 'trunc_normal_icdf_']

#: Builds a norm layer for a number of channels (e.g. ``nn.BatchNorm2d``); the mm shells make
#: one from an mmcv ``norm_cfg``.
NormLayer = Callable[[int], nn.Module]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map."""

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


def drop_path(x: Tensor, drop_prob: float = 0., training: bool = False) -> Tensor:
    """Zero whole samples of a residual branch with probability ``drop_prob``, scale the rest."""
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0], ) + (1, ) * (x.ndim - 1)
    random_tensor = keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)
    return x.div(keep_prob) * random_tensor.floor()


class DropPath(nn.Module):
    """Stochastic depth of a residual branch (per sample), active in training mode only.

    Args:
        drop_prob (float): probability of dropping a sample's branch. Defaults to 0.1.
    """

    def __init__(self, drop_prob: float = 0.1) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


@torch.no_grad()
def trunc_normal_icdf_(tensor: Tensor, mean: float = 0., std: float = 1., a: float = -2., b: float = 2.) -> Tensor:
    """Truncated normal init by the inverse CDF of a uniform draw (mmengine's and timm's
    ``trunc_normal_``). Kept for CeiT's init, whose weights from a given seed are this draw; newer
    torch's ``nn.init.trunc_normal_`` samples by rejection and draws other numbers."""
    def norm_cdf(x: float) -> float:
        return (1. + math.erf(x / math.sqrt(2.))) / 2.

    lower, upper = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    tensor.uniform_(2 * lower - 1, 2 * upper - 1)
    tensor.erfinv_()
    tensor.mul_(std * math.sqrt(2.))
    tensor.add_(mean)
    tensor.clamp_(min=a, max=b)
    return tensor


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Zero-pad an NCHW map on the bottom/right to a multiple of ``multiple`` in both sides.

    Always a pad op while tracing/exporting (a shape test would freeze the example size into the
    graph); in eager mode ``x`` itself when nothing is missing.
    """
    pad_h, pad_w = -x.shape[2] % multiple, -x.shape[3] % multiple
    if static_shapes() and not (pad_h or pad_w):
        return x
    return F.pad(x, (0, pad_w, 0, pad_h))


class ConvFFN(nn.Module):
    """1x1 conv -> GELU -> (+ depthwise 3x3 residual) -> 1x1 conv, on NCHW maps.

    Args:
        embed_dims (int): input and output channels.
        hidden_dims (int): channels of the hidden layer.
        use_dwconv (bool): add the depthwise 3x3 conv of the hidden map to itself (local mixing).
            Defaults to True.
    """

    def __init__(self, embed_dims: int, hidden_dims: int, use_dwconv: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(embed_dims, hidden_dims, 1)
        self.act = nn.GELU()
        self.dwconv = nn.Conv2d(hidden_dims, hidden_dims, 3, 1, 1, groups=hidden_dims) if use_dwconv else None
        self.fc2 = nn.Conv2d(hidden_dims, embed_dims, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.fc1(x)
        if isinstance(self.act, nn.GELU) and not (torch.is_grad_enabled() and x.requires_grad):
            x = torch.ops.aten.gelu_(x, approximate=self.act.approximate)  # inference: in place
        else:
            x = self.act(x)
        if self.dwconv is not None:
            x = self.dwconv(x).add_(x)  # into the conv's fresh output; x stays intact for backward
        return self.fc2(x)
