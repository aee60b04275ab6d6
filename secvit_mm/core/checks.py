"""Argument, input and checkpoint checks shared by the models, each a clear one-line error.

Pure Python / torch:

* :class:`KeywordCheck`: a typo in a keyword argument (``num_cluster=4``, from Python, a config's
  ``model.backbone`` or ``timm.create_model``) raises a ``TypeError`` naming the closest valid
  argument and listing all of them, instead of Python's bare "unexpected keyword argument".
* :func:`check_finite`: NaN / inf in an input batch is an error naming how many values and where
  they usually come from. Skipped while tracing / exporting / compiling (data-dependent control flow).
* the stage arguments every pyramid takes (:func:`check_stage_args`, :func:`per_stage`, ...);
* :func:`describe_state_dict_mismatch`: missing, unexpected and mis-shaped keys in one message.
"""
import difflib
import inspect
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .tracing import static_shapes

__all__ = ['ClusterSpec', 'KeywordCheck', 'check_finite', 'check_head_dims', 'check_stage_args',
           'describe_state_dict_mismatch', 'drop_path_rates', 'per_stage', 'valid_arguments']

ClusterSpec = Union[None, int, Sequence[Optional[int]]]
Shape = Union[Tensor, Tuple[int, ...], torch.Size]


def valid_arguments(cls) -> Optional[List[str]]:
    """The keyword arguments ``cls(...)`` takes: those of its ``__init__`` and, where that passes
    ``**kwargs`` on, of the ``__init__`` it passes them to (up the MRO). None when no ``__init__``
    in the chain closes the list."""
    names: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters
        names += [name for name, p in params.items() if name != 'self' and name not in names
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return names
    return None


class KeywordCheck:
    """Mixin (first base): unknown keyword arguments raise a TypeError listing the valid ones."""

    def __new__(cls, *args, **kwargs):
        if kwargs:
            valid = valid_arguments(cls)
            unknown = [k for k in kwargs if valid is not None and k not in valid]
            if unknown:
                hints = []
                for k in unknown:
                    close = difflib.get_close_matches(k, valid, n=1)
                    hints.append(f'{k!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
                raise TypeError(f'{cls.__name__} got unknown argument(s) {", ".join(hints)}; '
                                f'valid arguments: {", ".join(valid)}')
        return super().__new__(cls)


def check_finite(name: str, x: Tensor) -> None:
    """ValueError if ``x`` holds NaN or inf (eager mode only)."""
    if not static_shapes() or not x.is_floating_point():
        return
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        nan = int(torch.isnan(x).sum())
        raise ValueError(f'{name} input contains non-finite values ({nan} NaN, {bad - nan} inf of '
                         f'{x.numel()}, input shape {tuple(x.shape)}); check the images and the '
                         'data_preprocessor mean/std (std 0 gives inf)')


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


def _clip(items: List[str], limit: int = 8) -> str:
    return ', '.join(items[:limit]) + (f' (+{len(items) - limit} more)' if len(items) > limit else '')


def describe_state_dict_mismatch(expected: Mapping[str, Shape], got: Mapping[str, Shape],
                                 sources: Optional[Mapping[str, str]] = None) -> str:
    """'' when keys and shapes agree; otherwise one message naming the missing, unexpected and
    mis-shaped keys (the first 8 of each).

    Args:
        expected: key -> tensor or shape that should be there.
        got: key -> tensor or shape that is there.
        sources: key -> the key it was converted from, named next to it in shape mismatches.
    """
    def shape(value: Shape) -> Tuple[int, ...]:
        return tuple(value.shape) if isinstance(value, Tensor) else tuple(value)

    sources = sources or {}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    shapes = [f'{sources[k] + " (" + k + ")" if k in sources else k}: checkpoint {shape(got[k])} vs expected '
              f'{shape(expected[k])}' for k in sorted(set(expected) & set(got)) if shape(got[k]) != shape(expected[k])]
    parts = []
    if missing:
        parts.append(f'missing keys: {_clip(missing)}')
    if unexpected:
        parts.append(f'unexpected keys: {_clip(unexpected)}')
    if shapes:
        parts.append(f'shape mismatch: {_clip(shapes)}')
    return '; '.join(parts)
