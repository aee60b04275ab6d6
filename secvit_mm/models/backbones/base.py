"""What the backbones here share: argument checks, ``frozen_stages`` / ``norm_eval``, the transformer init."""
from typing import List, Sequence, Tuple, Union

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def check_stage_args(num_stages: int, out_indices: Union[int, Sequence[int]], frozen_stages: int,
                     drop_path_rate: float, in_channels: int) -> Tuple[int, ...]:
    """Validate the arguments every staged backbone takes; returns ``out_indices`` normalised
    (negative indices counted from the end, sorted, without repeats)."""
    if not 0 <= drop_path_rate < 1:
        raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate}')
    given = [out_indices] if isinstance(out_indices, int) else list(out_indices)
    if not given:
        raise ValueError('out_indices must name at least one stage')
    indices = set()
    for index in given:
        if not isinstance(index, int) or not -num_stages <= index < num_stages:
            raise ValueError(f'out_indices must be in 0..{num_stages - 1} (or negative from the end), '
                             f'got {out_indices}')
        indices.add(index % num_stages)
    if not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'frozen_stages must be in -1..{num_stages}, got {frozen_stages}')
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
    return tuple(sorted(indices))


class FrozenStagesMixin:
    """``frozen_stages`` / ``norm_eval`` the way mmdet and mmpretrain backbones behave.

    A backbone lists what ``frozen_stages`` covers in :meth:`frozen_modules`; the mixin keeps those
    modules in eval mode with ``requires_grad=False`` through every ``train()`` call, and with
    ``norm_eval`` keeps all BatchNorms in eval mode while training (frozen statistics for small
    detection batches). Put it before ``BaseModule`` in the bases.
    """

    frozen_stages: int
    norm_eval: bool

    def frozen_modules(self) -> List[nn.Module]:
        """The modules ``frozen_stages`` (>= 0) freezes, stem included."""
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def init_transformer_weights(module: nn.Module) -> None:
    """Trunc-normal (std 0.02) convs with zero bias, unit LayerNorms: SecViT's released init and
    Swin's (whose linear layers are the 1x1 convs here). Use as ``backbone.apply(...)``."""
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, std=.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
