"""What every pyramid of the package shares, in plain torch: :class:`PyramidBackbone`.

A family declares its arch table and builds its modules; this base owns the rest, the same way for
all of them: arch resolution (a name or a dict, one error format), argument and input checks,
the random init, the stem + stages loop (the backbone ``forward`` returns the ``out_indices``
outputs) and timm's feature API: ``feature_info``, ``forward_intermediates``,
``prune_intermediate_layers`` and ``set_grad_checkpointing``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .checks import (ClusterSpec, KeywordCheck, check_finite, check_head_dims, check_stage_args,
                     drop_path_rates, per_stage)

__all__ = ['Backbone', 'PyramidBackbone', 'init_transformer_weights', 'take_indices']


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


def take_indices(num: int, indices: Optional[Union[int, Sequence[int]]]) -> Tuple[List[int], int]:
    """timm's convention: None = all, an int n = the last n, a sequence = those (negative from the
    end). Returns (sorted indices, the largest)."""
    if indices is None:
        taken = list(range(num))
    elif isinstance(indices, int):
        if not 0 < indices <= num:
            raise ValueError(f'indices={indices}: take the last 1..{num} of {num} levels')
        taken = list(range(num - indices, num))
    else:
        taken = []
        for i in indices:
            if not -num <= i < num:
                raise ValueError(f'index {i} out of range for {num} levels (0..{num - 1}, or negative)')
            taken.append(i % num)
        taken = sorted(set(taken))
    return taken, max(taken)


class Backbone(KeywordCheck, nn.Module):
    """Base of every model of the package: arch resolution, input checks and the random init.

    The modules are built with PyTorch's default init; :meth:`reset_weights` applies the family's
    init (the timm models call it when built, the mm shells from ``init_weights``).
    """

    #: arch name -> settings; resolution copies the entry.
    arch_zoo: Dict[str, dict] = {}
    #: keys a custom arch dict must have / may have.
    arch_required: Tuple[str, ...] = ()
    arch_optional: Tuple[str, ...] = ()
    #: keys of a custom arch that hold one value per stage.
    arch_per_stage: Tuple[str, ...] = ()
    #: smallest image side, and why.
    min_input_size: int = 32
    min_input_reason: str = 'its total stride'
    in_channels: int

    # ---------------------------------------------------------------------------------- arch
    @classmethod
    def resolve_arch(cls, arch: Union[str, int, dict]) -> dict:
        """The settings of ``arch``: a name (or alias) from ``arch_zoo``, or a custom dict."""
        name = cls.family_name()
        if isinstance(arch, int) and not isinstance(arch, bool):
            arch = str(arch)
        if isinstance(arch, str):
            key = arch.lower().replace('_', '-')
            if key not in cls.arch_zoo:
                raise ValueError(f'Unknown {name} arch {arch!r}; choose one of {sorted(cls.arch_zoo)} or pass a '
                                 f'dict with {", ".join(cls.arch_required)}')
            return copy.deepcopy(cls.arch_zoo[key])
        if not isinstance(arch, dict):
            raise TypeError(f'{name} arch must be a str or a dict, got {type(arch).__name__}')
        required, allowed = set(cls.arch_required), set(cls.arch_required) | set(cls.arch_optional)
        if not required <= set(arch) or not set(arch) <= allowed:
            raise ValueError(f'A custom {name} arch needs the keys {sorted(required)} (optional: '
                             f'{sorted(allowed - required)}), got {sorted(arch)}')
        settings = copy.deepcopy(dict(arch))
        for key in cls.arch_per_stage:
            if len(settings[key]) != cls.num_stages:
                raise ValueError(f'{name} arch[{key!r}] needs {cls.num_stages} values, got {settings[key]}')
        cls.check_arch(settings)
        return settings

    @classmethod
    def family_name(cls) -> str:
        """The name errors use: the class's (a subclass that only adds a head keeps its family's)."""
        return cls.__name__

    @classmethod
    def check_arch(cls, settings: dict) -> None:
        """Further checks of a custom arch (raise ValueError)."""

    # ---------------------------------------------------------------------------------- init
    @staticmethod
    def init_module(module: nn.Module) -> None:
        """The random init of one module (applied to every module by :meth:`reset_weights`)."""
        init_transformer_weights(module)

    def init_parameters(self) -> None:
        """The random init of parameters held by the backbone itself (after :meth:`init_module`)."""

    def reset_weights(self) -> None:
        """The family's random init of every weight."""
        self.apply(self.init_module)
        self.init_parameters()

    # ---------------------------------------------------------------------------------- input
    def check_input(self, x: Tensor) -> None:
        """ValueError naming what is wrong with an input batch (shape, channels, size, NaN / inf)."""
        name = self.family_name()
        if not isinstance(x, Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'{name} expects an (N, C, H, W) tensor, got {shape}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{name} was built for {self.in_channels} input channels, got {x.shape[1]} '
                             f'(input shape {tuple(x.shape)}); set in_channels={x.shape[1]} or fix the data')
        if x.shape[0] == 0 or min(x.shape[2:]) < self.min_input_size:
            raise ValueError(f'{name} needs a non-empty batch of images at least {self.min_input_size}x'
                             f'{self.min_input_size} ({self.min_input_reason}), got {tuple(x.shape)}')
        check_finite(name, x)


class PyramidBackbone(Backbone):
    """Base of the pyramids (stride-4 stem, stages halving the resolution).

    A family sets the class attributes below, calls :meth:`setup_stages` first in its ``__init__``
    and builds ``self.<stem_name>``, ``self.stages`` (each returning (feature, next input), see
    :class:`~secvit_mm.core.blocks.Stage`) and optionally one ``norm{i}`` per output. It overrides a
    hook only where it differs: :meth:`check_arch`, :meth:`init_module`, :meth:`init_parameters`.
    """

    num_stages: int = 4
    #: attribute of the stride-4 stem.
    stem_name: str = 'stem'
    #: first stage that runs on channels-last maps (0: the stem's input already).
    channels_last_from: int = 0
    #: stages with attention (their head_dim is checked).
    attn_stages: Sequence[int] = range(4)

    out_indices: Tuple[int, ...]

    def setup_stages(self, arch: Union[str, int, dict], in_channels: int, out_indices: Union[int, Sequence[int]],
                     drop_path_rate: Optional[float], num_clusters: ClusterSpec, cluster_size: ClusterSpec,
                     use_rope: bool = True, frozen_stages: int = -1) -> List[List[float]]:
        """Check and store what every pyramid takes; returns the drop path rate of each block, per stage.

        Sets ``arch_settings``, ``embed_dims`` (per stage), ``in_channels``, ``out_indices``
        (normalised), ``num_features`` (channels of the outputs) and ``num_clusters`` /
        ``cluster_size`` per stage (a ``cluster_size`` replaces the counts). ``frozen_stages`` is
        only checked (the mm shells use it).
        """
        self.arch_settings = self.resolve_arch(arch)
        self.embed_dims = self.stage_widths(self.arch_settings)
        check_head_dims(self.family_name(), self.embed_dims, self.arch_settings['num_heads'], use_rope,
                        self.attn_stages)
        if drop_path_rate is None:
            drop_path_rate = self.arch_settings.get('drop_path_rate', 0.)
        self.out_indices = check_stage_args(self.num_stages, out_indices, frozen_stages, drop_path_rate,
                                            in_channels)
        self.num_features = [self.embed_dims[i] for i in self.out_indices]
        self.in_channels = in_channels
        first = self.attn_stages[0]
        self.num_clusters = per_stage(num_clusters, 'num_clusters', self.num_stages, first)
        self.cluster_size = per_stage(cluster_size, 'cluster_size', self.num_stages, first)
        if cluster_size is not None:
            self.num_clusters = (None, ) * self.num_stages
        return drop_path_rates(drop_path_rate, self.arch_settings['depths'])

    @classmethod
    def stage_widths(cls, settings: dict) -> List[int]:
        """Channels of each stage: ``embed_dims`` of the arch (an int doubles per stage)."""
        dims = settings['embed_dims']
        return [dims * 2**i for i in range(cls.num_stages)] if isinstance(dims, int) else list(dims)

    @property
    def feature_info(self) -> List[dict]:
        """timm's description of the stage outputs: channels, stride and module of each."""
        return [dict(num_chs=self.embed_dims[i], reduction=4 * 2**i, module=f'stages.{i}')
                for i in range(len(self.stages))]

    # ---------------------------------------------------------------------------------- forward
    def run_stages(self, x: Tensor, indices: Sequence[int], last: int) -> Tuple[List[Tensor], Tensor]:
        """Stem and stages ``0..last``: (the outputs of ``indices``, each through its ``norm{i}`` if
        there is one, as contiguous NCHW; the feature of stage ``last``)."""
        # Channels-last inside the attention stages: depthwise convs, LayerNorm over channels and
        # the token-major attention all want it. The outputs are plain contiguous NCHW again.
        if self.channels_last_from == 0:
            x = x.contiguous(memory_format=torch.channels_last)
        x = getattr(self, self.stem_name)(x)
        outs = []
        feature = x
        for i, stage in enumerate(self.stages):
            if i == self.channels_last_from and i > 0:
                x = x.contiguous(memory_format=torch.channels_last)
            feature, x = stage(x)
            if i in indices:
                norm = getattr(self, f'norm{i}', None)
                outs.append((feature if norm is None else norm(feature)).contiguous())
            if i >= last:
                break  # later stages feed no requested output
        return outs, feature

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The ``out_indices`` outputs (strides 4, 8, 16, 32), as a tuple."""
        self.check_input(x)
        return tuple(self.run_stages(x, self.out_indices, max(self.out_indices))[0])

    def final_norm(self, feature: Tensor) -> Tensor:
        """The last stage's feature as the classifier takes it (through ``norm{last}`` if built)."""
        norm = getattr(self, f'norm{len(self.stages) - 1}', None)
        return feature if norm is None else norm(feature)

    def forward_features(self, x: Tensor) -> Tensor:
        """The last stage's (normalised) map, unpooled."""
        self.check_input(x)
        last = len(self.stages) - 1
        return self.final_norm(self.run_stages(x, (), last)[1])

    def forward_intermediates(self, x: Tensor, indices: Optional[Union[int, Sequence[int]]] = None,
                              norm: bool = False, stop_early: bool = False, output_fmt: str = 'NCHW',
                              intermediates_only: bool = False):
        """timm's feature API: the stage outputs of ``indices`` (None: all; an int n: the last n).

        Each output goes through its ``norm{i}`` where the model has one (the mm detection
        backbones' outputs). Returns the list, or (final features, list) unless
        ``intermediates_only``. ``norm`` and ``stop_early`` are accepted for timm; the stages after
        the last requested one only run when the final features are wanted.
        """
        if output_fmt != 'NCHW':
            raise ValueError(f"{self.family_name()} gives NCHW maps only, got output_fmt={output_fmt!r}")
        self.check_input(x)
        taken, max_index = take_indices(len(self.stages), indices)
        last = max_index if intermediates_only or stop_early else len(self.stages) - 1
        outs, feature = self.run_stages(x, taken, last)
        if intermediates_only:
            return outs
        return self.final_norm(feature), outs

    def prune_intermediate_layers(self, indices: Optional[Union[int, Sequence[int]]] = None,
                                  prune_norm: bool = False, prune_head: bool = True) -> List[int]:
        """Drop the stages after the last of ``indices`` (and the head); returns the indices kept."""
        taken, max_index = take_indices(len(self.stages), indices)
        self.stages = self.stages[:max_index + 1]
        self.stages[max_index].downsample = None  # feeds no stage any more
        for i in range(max_index + 1, self.num_stages):
            if hasattr(self, f'norm{i}'):
                delattr(self, f'norm{i}')
        if prune_head and hasattr(self, 'reset_classifier'):
            self.reset_classifier(0, '')
        return taken

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing of every block while training (less memory, more compute)."""
        for stage in self.stages:
            stage.grad_checkpointing = enable
