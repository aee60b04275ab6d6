"""Load mmengine checkpoints with ``torch.load(weights_only=True)`` -- safe loading stays on.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: the file is unpickled by a
restricted unpickler that only rebuilds tensors, plain Python containers and the globals on an
allow-list, so a checkpoint cannot run code when it is opened. mmengine 0.10.7 calls ``torch.load``
without the argument, and a checkpoint written by its ``Runner`` holds a few objects that are not
on torch's default list, so loading or resuming failed with ``UnpicklingError``.

Importing this module (``import secvit_mm`` does it) fixes that WITHOUT turning safe loading off:

1. ``torch.serialization.add_safe_globals(SAFE_GLOBALS)`` allow-lists exactly the objects the
   Runner's checkpoints contain. The list was found empirically, by saving real checkpoints with a
   real Runner (model, optimizer, param schedulers, message hub, numpy values in the metainfo and in
   the metrics) and adding what ``torch.load(weights_only=True)`` rejected:

   * numpy arrays and scalars (dataset metainfo, ``HistoryBuffer`` logs, ``best_score``):
     ``numpy.ndarray``, ``numpy.dtype``, ``numpy._core.multiarray._reconstruct`` and
     ``numpy._core.multiarray.scalar`` (plus their numpy 1.x names ``numpy.core.multiarray.*``,
     so checkpoints written under numpy < 2 load too), and the dtype classes of the bool, integer
     and float/complex dtypes (``numpy.dtypes.Float64DType``...; the restricted unpickler only
     sets the state of objects whose exact type is allow-listed). Object, string and void dtypes
     are NOT allowed.
   * ``mmengine.logging.history_buffer.HistoryBuffer`` (the message hub's logged scalars).
   * ``builtins.getattr`` -- but only as a stand-in, :func:`_history_buffer_statistic`: a
     ``HistoryBuffer`` pickles its statistic methods as ``getattr(HistoryBuffer, 'mean')``, and the
     stand-in resolves only those names on that class. The real ``getattr`` is never allow-listed
     (it would let a file reach arbitrary attributes of allowed objects, e.g. ``__globals__``).

   ``collections.OrderedDict``/``Counter``, tensors, ``torch.Size``, dtypes and devices are already
   allowed by torch. Everything else (``os.system``, ``builtins.exec``, ``eval``, any class with a
   ``__reduce__``...) is refused before it is called.

2. mmengine's loader for local paths is re-registered (``CheckpointLoader.register_scheme(prefixes=
   '', force=True)``, mmengine's own extension point, not a patch) so that it passes
   ``weights_only=True`` explicitly -- independent of torch's default and of the
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` environment variable -- and turns a refusal into
   :class:`UnsafeCheckpointError`, which says which object was refused and what to do.
   ``mmengine.runner.load_checkpoint``, ``Runner.load_checkpoint`` and ``Runner.resume`` all go
   through it. ``weights_only=False`` is never passed anywhere.

If a file you trust holds another object (a custom statistic, a config object...), allow-list
exactly that object with ``torch.serialization.add_safe_globals([obj])`` or load it inside the
``torch.serialization.safe_globals([obj])`` context manager.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'SAFE_GLOBALS', 'UnsafeCheckpointError', 'CheckpointReadError', 'load_checkpoint_safely',
    'register_safe_globals'
]

# ``HistoryBuffer.__getstate__`` stores the class-level ``_statistics_methods`` in every buffer;
# these are its built-in entries (``HistoryBuffer._set_default_statistics``).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def _history_buffer_statistic(obj: Any, name: str) -> Callable:
    """Restricted stand-in for ``builtins.getattr`` during weights-only unpickling.

    Protocol-2 pickles refer to a method such as ``HistoryBuffer.mean`` as
    ``getattr(HistoryBuffer, 'mean')``. Only those lookups are served; any other ``getattr`` in a
    checkpoint is refused.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__qualname__", type(obj).__qualname__)}, {name!r}) is not '
        'allowed: only the built-in HistoryBuffer statistics '
        f'{_HISTORY_BUFFER_STATISTICS} may be looked up')


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    from numpy._core import multiarray  # numpy >= 2 (the project pins numpy>=2)

    # Bool, signed/unsigned integers of every width, half/single/double floats, complex.
    dtype_classes = []
    for code in '?bBhHiIlLqQefdFD':
        cls = type(np.dtype(code))
        if cls not in dtype_classes:
            dtype_classes.append(cls)
    return [
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        # The same objects under the names numpy 1.x writes into pickles.
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        *dtype_classes,
    ]


#: Everything added to torch's weights-only allow-list (besides torch's own defaults).
SAFE_GLOBALS: Tuple[Union[Callable, Tuple[Callable, str]], ...] = (
    *_numpy_globals(),
    HistoryBuffer,
    (_history_buffer_statistic, 'builtins.getattr'),
)


def register_safe_globals() -> None:
    """Add :data:`SAFE_GLOBALS` to torch's weights-only allow-list (idempotent)."""
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds an object outside the weights-only allow-list; nothing was executed."""

    def __init__(self, filename: str, offending: str):
        self.filename = filename
        self.offending = offending
        super().__init__(
            f'refused: checkpoint {filename!r} contains non-allowlisted object {offending}; '
            'only tensors, plain Python containers/values and the allow-listed numpy and '
            'mmengine types (secvit_mm.utils.safe_load.SAFE_GLOBALS) are loaded, and nothing in '
            'the file was executed. If you trust the file, allow-list exactly that object with '
            'torch.serialization.add_safe_globals([...]) (or the '
            'torch.serialization.safe_globals([...]) context manager) and load it again.')

    def __reduce__(self):  # keeps the error picklable (e.g. across DataLoader/mp workers)
        return type(self), (self.filename, self.offending)


_OFFENDER_PATTERNS = (
    r'unsupported GLOBAL (\S+) whose module \S+ is blocked',
    r'GLOBAL (\S+) was not an allowed global',
    r'unrecognized function (.+?)(?: which belongs to .*)?$',
    r'allowlisted via `add_safe_globals`,? but got (.+)$',
    r'(getattr\(.+?\)) is not allowed',
)


def _offending_object(message: str) -> str:
    """Extract the refused object from torch's weights-only error message."""
    for pattern in _OFFENDER_PATTERNS:
        match = re.search(pattern, message, flags=re.MULTILINE)
        if match:
            return match.group(1).strip().rstrip('.')
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return f'({lines[-1] if lines else "unknown"})'


class CheckpointReadError(ValueError):
    """A file that is not a complete PyTorch checkpoint (truncated, empty, another format)."""

    def __init__(self, filename: str, reason: str):
        self.filename, self.reason = filename, reason
        size = osp.getsize(filename) if osp.isfile(filename) else 0
        super().__init__(
            f'cannot read checkpoint {filename!r} ({size} bytes): {reason}; the file is truncated '
            '(an interrupted copy or download?) or not a PyTorch checkpoint: copy or convert it again')

    def __reduce__(self):
        return type(self), (self.filename, self.reason)


def load_checkpoint_safely(filename: str, map_location: Any = 'cpu') -> Any:
    """``torch.load(filename, weights_only=True)`` with a clear error for refused files.

    Raises:
        UnsafeCheckpointError: the file holds an object that is not allow-listed (e.g. a
            ``__reduce__`` calling ``os.system``); it is refused before anything is executed.
        CheckpointReadError: the file is truncated, empty or not a checkpoint at all.
    """
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if isinstance(err, UnsafeCheckpointError):
            raise
        if 'Weights only load failed' not in str(err):
            raise CheckpointReadError(str(filename), str(err).strip().splitlines()[0]) from err
        garbage = re.search(r'(Unsupported operand \d+|Unsupported class|Ran out of input)', str(err))
        if garbage and not any(re.search(p, str(err), re.MULTILINE) for p in _OFFENDER_PATTERNS):
            raise CheckpointReadError(str(filename), f'not a pickle ({garbage.group(1)})') from err
        raise UnsafeCheckpointError(str(filename), _offending_object(str(err))) from err
    except (EOFError, KeyError, RuntimeError) as err:  # what torch.load raises on garbage
        text = str(err).strip().splitlines()[0] if str(err).strip() else 'ended early'
        if isinstance(err, KeyError):
            text = f'unknown pickle opcode {text}'
        if isinstance(err, RuntimeError) and not any(
                s in text for s in ('PytorchStreamReader', 'zip archive', 'central directory',
                                    'file_name', 'storage has wrong', 'unexpected EOF')):
            raise
        raise CheckpointReadError(str(filename), text) from err


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location: Any) -> Any:
    """mmengine's local-path checkpoint loader, with explicit ``weights_only=True``.

    Same contract as ``mmengine.runner.checkpoint.load_from_local``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_safely(filename, map_location=map_location)


register_safe_globals()
