"""Small building blocks shared by the backbones."""
import torch
from torch import Tensor, nn
import torch.nn.functional as F

__all__ = ['LayerNorm2d', 'ConvFFN']


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map."""

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class ConvFFN(nn.Module):
    """1x1 conv -> GELU -> (+ depthwise 3x3 residual) -> 1x1 conv, on NCHW maps.

    Args:
        embed_dims: input and output channels.
        hidden_dims: channels of the hidden layer.
        use_dwconv: add the depthwise 3x3 conv of the hidden map to itself (local mixing).
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
