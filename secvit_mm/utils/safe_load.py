"""Load mmengine checkpoints with ``torch.load(weights_only=True)`` -- safe loading stays on.

Importing this module (``import secvit_mm`` does it) allow-lists exactly the objects mmengine Runner
checkpoints hold (:data:`SAFE_GLOBALS`) and re-registers mmengine's local-path loader so that it
passes ``weights_only=True`` explicitly; anything else in a file is refused before it runs. What is
on the list and why: docs/robustness.md, "Safe checkpoint loading".
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from secvit_mm.errors import CheckpointNotFoundError, CheckpointReadError, UnsafeCheckpointError

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
        raise CheckpointNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_safely(filename, map_location=map_location)


register_safe_globals()
