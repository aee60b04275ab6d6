"""Clear errors for bad backbone arguments and inputs, shared by SecViT and CeiT.

* :class:`KeywordCheck`: a typo in a keyword argument (``num_cluster=4``, from Python or from a
  config's ``model.backbone``) raises a ``TypeError`` naming the closest valid argument and listing
  all of them, instead of Python's bare "unexpected keyword argument".
* :func:`check_finite`: NaN / inf in an input batch is an error naming how many values and where
  they usually come from. Skipped while tracing / exporting / compiling (data-dependent control flow).
"""
import difflib
import inspect

import torch
from torch import Tensor

__all__ = ['KeywordCheck', 'check_finite', 'valid_arguments']


def valid_arguments(cls) -> list:
    params = inspect.signature(cls.__init__).parameters
    return [name for name, p in params.items()
            if name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


class KeywordCheck:
    """Mixin (first base): unknown keyword arguments raise a TypeError listing the valid ones."""

    def __new__(cls, *args, **kwargs):
        if kwargs:
            params = inspect.signature(cls.__init__).parameters
            if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                valid = valid_arguments(cls)
                unknown = [k for k in kwargs if k not in valid]
                if unknown:
                    hints = []
                    for k in unknown:
                        close = difflib.get_close_matches(k, valid, n=1)
                        hints.append(f'{k!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
                    raise TypeError(f'{cls.__name__} got unknown argument(s) {", ".join(hints)}; '
                                    f'valid arguments: {", ".join(valid)}')
        return super().__new__(cls)


def _checking() -> bool:
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
        return False
    compiler = getattr(torch, 'compiler', None)
    return not (compiler is not None and compiler.is_compiling())


def check_finite(name: str, x: Tensor) -> None:
    """ValueError if ``x`` holds NaN or inf (eager mode only)."""
    if not _checking() or not x.is_floating_point():
        return
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        nan = int(torch.isnan(x).sum())
        raise ValueError(f'{name} input contains non-finite values ({nan} NaN, {bad - nan} inf of '
                         f'{x.numel()}, input shape {tuple(x.shape)}); check the images and the '
                         'data_preprocessor mean/std (std 0 gives inf)')
