"""The shell every backbone of this package shares: :class:`BaseBackbone`.

A backbone subclass declares its arch table and builds its modules; the shell owns the rest, the same
way for all of them: arch resolution (a name or a dict, one error format), argument and input checks
(misspelt keywords, channels, size, finite values), ``init_weights`` (``Pretrained`` strictly through
:func:`load_pretrained_backbone`, otherwise the backbone's own init), the ``out_indices`` loop of a
stage pyramid, and ``frozen_stages`` / ``norm_eval`` as mmdet and mmpretrain backbones behave.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..input_checks import KeywordCheck, check_finite
from ..pretrained import load_pretrained_backbone, pretrained_init_cfg

__all__ = ['BaseBackbone', 'check_head_dims', 'check_stage_args', 'drop_path_rates', 'init_transformer_weights',
           'per_stage']

ClusterSpec = Union[None, int, Sequence[Optional[int]]]


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


def per_stage(value: ClusterSpec, name: str, num_stages: int, first: int = 0) -> Tuple[Optional[int], ...]:
    """A clustering argument spread over ``num_stages`` stages, of which ``first..`` attend.

    ``value`` is None (global everywhere), an int for the attending stages but the last (which stays
    global), or one value per attending stage (None / -1 meaning global). Stages before ``first``
    (convolutional) get None.
    """
    count = num_stages - first
    stages = None
    if value is None:
        stages = (None, ) * count
    elif isinstance(value, int) and not isinstance(value, bool):
        stages = (value, ) * (count - 1) + (None, )
    elif isinstance(value, (list, tuple)) and len(value) == count:
        stages = tuple(None if v in (None, -1) else v for v in value)
        if not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1) for v in stages):
            stages = None
    if stages is None:
        clustered = f'stage {first + 1}' if count == 2 else f'stages {first + 1}-{num_stages - 1}'
        raise ValueError(f'{name} must be None, a positive int ({clustered}; the last stays global) or a '
                         f'sequence of {count} positive ints / None (global), got {value!r}')
    return (None, ) * first + stages


def check_head_dims(name: str, embed_dims: Sequence[int], num_heads: Sequence[int], use_rope: bool,
                    stages: Sequence[int]) -> None:
    """Each attending stage needs an integer head_dim, divisible by 4 with 2D RoPE."""
    for i in stages:
        dims, heads = embed_dims[i], num_heads[i]
        if dims % heads or (use_rope and (dims // heads) % 4):
            raise ValueError(f'{name}: stage {i + 1} has embed_dims {dims} with {heads} heads: head_dim must '
                             'be an integer' + (' divisible by 4 (2D RoPE)' if use_rope else ''))


def drop_path_rates(rate: float, depths: Sequence[int]) -> List[List[float]]:
    """Stochastic depth rising linearly from 0 to ``rate`` over all blocks, split per stage."""
    # On the CPU even while a model is built on the meta device: the rates are Python floats.
    rates = torch.linspace(0, rate, sum(depths), device='cpu').tolist()
    return [rates[sum(depths[:i]):sum(depths[:i + 1])] for i in range(len(depths))]


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


class BaseBackbone(KeywordCheck, BaseModule):
    """Base of the backbones: what they share, declared once.

    A subclass sets the class attributes below, calls :meth:`setup_stages` (pyramids) first in its
    ``__init__`` and builds its modules; it overrides a hook only where it differs:

    * :meth:`check_arch` -- extra checks of a resolved arch;
    * :meth:`init_module` / :meth:`init_parameters` -- the random init (run by ``init_weights``);
    * :meth:`pretrained_loader_args` -- converter etc. for ``init_cfg=dict(type='Pretrained')``;
    * ``forward`` / :meth:`frozen_modules` where it is not a stage pyramid (CeiT).

    A pyramid has ``self.<stem_name>`` (stride 4), ``self.stages`` (each returning (feature,
    next input), see :class:`~secvit_mm.models.layers.Stage`) and optionally one ``norm{i}`` per
    output. Its forward runs the stem and the stages up to the last of ``out_indices``.
    """

    #: arch name -> settings; resolution copies the entry.
    arch_zoo: Dict[str, dict] = {}
    #: keys a custom arch dict must have / may have.
    arch_required: Tuple[str, ...] = ()
    arch_optional: Tuple[str, ...] = ()
    #: keys of a custom arch that hold one value per stage.
    arch_per_stage: Tuple[str, ...] = ()
    num_stages: int = 4
    #: smallest image side, and why.
    min_input_size: int = 32
    min_input_reason: str = 'its total stride'
    #: attribute of the stride-4 stem (frozen with ``frozen_stages >= 0``).
    stem_name: str = 'stem'
    #: first stage that runs on channels-last maps (0: the stem's input already).
    channels_last_from: int = 0
    #: stages with attention (their head_dim is checked).
    attn_stages: Sequence[int] = range(4)

    frozen_stages: int = -1
    norm_eval: bool = False
    in_channels: int
    out_indices: Tuple[int, ...]

    # ---------------------------------------------------------------------------------- arch
    @classmethod
    def resolve_arch(cls, arch: Union[str, int, dict]) -> dict:
        """The settings of ``arch``: a name (or alias) from ``arch_zoo``, or a custom dict."""
        name = cls.__name__
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
    def check_arch(cls, settings: dict) -> None:
        """Further checks of a custom arch (raise ValueError)."""

    def setup_stages(self, arch: Union[str, int, dict], in_channels: int, out_indices: Union[int, Sequence[int]],
                     drop_path_rate: Optional[float], frozen_stages: int, norm_eval: bool,
                     num_clusters: ClusterSpec, cluster_size: ClusterSpec, use_rope: bool = True) -> List[List[float]]:
        """Check and store what every pyramid takes; returns the drop path rate of each block, per stage.

        Sets ``arch_settings``, ``embed_dims`` (per stage), ``in_channels``, ``out_indices``
        (normalised), ``num_features`` (channels of the outputs), ``frozen_stages``, ``norm_eval``
        and ``num_clusters`` / ``cluster_size`` per stage (a ``cluster_size`` replaces the counts).
        """
        self.arch_settings = self.resolve_arch(arch)
        self.embed_dims = self.stage_widths(self.arch_settings)
        check_head_dims(type(self).__name__, self.embed_dims, self.arch_settings['num_heads'], use_rope,
                        self.attn_stages)
        if drop_path_rate is None:
            drop_path_rate = self.arch_settings.get('drop_path_rate', 0.)
        self.out_indices = check_stage_args(self.num_stages, out_indices, frozen_stages, drop_path_rate,
                                            in_channels)
        self.num_features = [self.embed_dims[i] for i in self.out_indices]
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
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

    # ---------------------------------------------------------------------------------- init
    def pretrained_loader_args(self) -> dict:
        """Keyword arguments of :func:`load_pretrained_backbone` (e.g. a released-checkpoint converter)."""
        return {}

    @staticmethod
    def init_module(module: nn.Module) -> None:
        """The random init of one module (applied to every module by ``init_weights``)."""
        init_transformer_weights(module)

    def init_parameters(self) -> None:
        """The random init of parameters held by the backbone itself (after :meth:`init_module`)."""

    def init_weights(self) -> None:
        if self.is_init:
            return super().init_weights()  # mmengine warns and does nothing
        if pretrained_init_cfg(self.init_cfg, type(self).__name__) is not None:
            # Instead of mmengine's PretrainedInit, which loads with strict=False and only logs what
            # did not match: converts released checkpoints and refuses a half-matching one.
            load_pretrained_backbone(self, self.init_cfg, **self.pretrained_loader_args())
            self.is_init = True
            return
        self.apply(self.init_module)
        self.init_parameters()
        super().init_weights()  # any other init_cfg (e.g. a Constant override) applies on top

    # ---------------------------------------------------------------------------------- input
    def check_input(self, x: Tensor) -> None:
        """ValueError naming what is wrong with an input batch (shape, channels, size, NaN / inf)."""
        name = type(self).__name__
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

    # ---------------------------------------------------------------------------------- forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        self.check_input(x)
        # Channels-last inside the attention stages: depthwise convs, LayerNorm over channels and
        # the token-major attention all want it. The outputs are plain contiguous NCHW again.
        if self.channels_last_from == 0:
            x = x.contiguous(memory_format=torch.channels_last)
        x = getattr(self, self.stem_name)(x)
        outs = []
        for i, stage in enumerate(self.stages):
            if i == self.channels_last_from and i > 0:
                x = x.contiguous(memory_format=torch.channels_last)
            feature, x = stage(x)
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}', None)
                outs.append((feature if norm is None else norm(feature)).contiguous())
            if i >= max(self.out_indices):
                break  # later stages feed no requested output
        return tuple(outs)

    # ---------------------------------------------------------------------------------- train modes
    def frozen_modules(self) -> List[nn.Module]:
        """What ``frozen_stages`` (>= 0) freezes: the stem, the first stages and their output norms."""
        return [getattr(self, self.stem_name), *self.stages[:self.frozen_stages],
                *(getattr(self, f'norm{i}') for i in self.out_indices
                  if i < self.frozen_stages and hasattr(self, f'norm{i}'))]

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Frozen modules stay in eval mode; with ``norm_eval`` so do all BatchNorms (frozen
        statistics for small detection batches)."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
