"""The released SecViT classifier's neck: 1x1 conv to 1024, BN, SiLU, global average pool."""
from typing import Tuple, Union

from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

__all__ = ['ConvPoolNeck']


@MODELS.register_module()
class ConvPoolNeck(BaseModule):
    """Widen the last feature map with a 1x1 conv + BN + SiLU, then average-pool it to a vector.

    Feeds mmpretrain's ``LinearClsHead`` (whose Linear equals the released 1x1-conv classifier).

    Args:
        in_channels: channels of the backbone's last output.
        out_channels: channels after the projection (1024 in the released SecViT).
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: int, out_channels: int = 1024, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(in_channels, out_channels, 1)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.SiLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        nn.init.trunc_normal_(self.proj.weight, std=.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, inputs: Union[Tensor, Tuple[Tensor, ...]]) -> Tuple[Tensor, ...]:
        # mmpretrain hands necks the backbone's tuple; the classifier reads its last entry.
        feats = inputs if isinstance(inputs, tuple) else (inputs, )
        return tuple(self.pool(self.act(self.norm(self.proj(x)))).flatten(1) for x in feats)
