"""The checkpoint toolkit: read a checkpoint, report what does not match, write one atomically.

Used by the strict pretrained loader (:mod:`secvit_mm.models.pretrained`) and the converters of
released checkpoints (:mod:`secvit_mm.models.converters`, ``tools/convert_*.py``), so every
checkpoint is read, checked and written the same way:

* :func:`read_checkpoint` -- ``torch.load(weights_only=True)`` (nothing in the file runs), with a
  clear error for a missing, unreadable or unsafe file;
* :func:`extract_state_dict` -- the state dict inside a released (``model`` / ``model_ema``),
  mmengine (``state_dict``) or bare checkpoint;
* :func:`describe_state_dict_mismatch` -- missing, unexpected and mis-shaped keys, in one message;
* :func:`load_state_dict_strictly` -- load only weights that fit exactly, else say what does not;
* :func:`save_checkpoint` -- written next to the target and renamed: never a half-written file;
* :func:`run_converter` -- the command line of a converter (``SRC DST [--ema] [--arch] [--force]``).
"""
import argparse
import io
import os.path as osp
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from secvit_mm.core.checks import _clip, describe_state_dict_mismatch  # noqa: F401  (re-exported)
from secvit_mm.engine.hooks.atomic_checkpoint import atomic_write
from secvit_mm.errors import (CheckpointContentError, CheckpointNotFoundError, CheckpointReadError, OutputExistsError,
                              SecvitError, UnsafeCheckpointError, UsageError)

from .safe_load import load_checkpoint_safely

__all__ = ['describe_state_dict_mismatch', 'extract_state_dict', 'load_state_dict_strictly', 'read_checkpoint',
           'run_converter', 'save_checkpoint']

Shape = Union[Tensor, Tuple[int, ...], torch.Size]


def read_checkpoint(path: str, map_location: Any = 'cpu') -> Any:
    """The object in ``path``, loaded with ``weights_only=True``.

    Released training checkpoints (DeiT style) also hold their ``argparse.Namespace``; that plain
    attribute bag is allowed, nothing else beyond :mod:`secvit_mm.utils.safe_load`'s list.

    Raises:
        CheckpointNotFoundError: no such file (a FileNotFoundError).
        CheckpointReadError: the file is truncated or not a checkpoint (a ValueError).
        CheckpointContentError: it holds objects that are not allowed (a ValueError).
    """
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f'checkpoint not found: {path}')
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return load_checkpoint_safely(path, map_location=map_location)
    except UnsafeCheckpointError as err:
        raise CheckpointContentError(str(err)) from err
    except CheckpointReadError:  # truncated, empty, not a torch file: its message names the file
        raise
    except Exception as err:  # anything else torch.load raised
        raise CheckpointContentError(f'cannot read {path} as a checkpoint of tensors: {err}') from err


def extract_state_dict(checkpoint: Any, source: str = 'checkpoint', entry: Optional[str] = None) -> Dict[str, Tensor]:
    """The state dict inside a checkpoint.

    Args:
        checkpoint: a loaded checkpoint: ``{'state_dict': ...}`` (mmengine), ``{'model': ...}``
            (released; also ``model_ema``), or a bare state dict.
        source: how to name the checkpoint in errors (its path).
        entry: take exactly this top-level entry (e.g. ``'model_ema'``); an error if it is missing.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointContentError(f'{source} is not a checkpoint dict (got {type(checkpoint).__name__})')
    if entry is not None:
        if not isinstance(checkpoint.get(entry), dict):
            raise CheckpointContentError(f'{source} has no {entry!r} entry (top-level keys: {sorted(checkpoint)[:10]})')
        return checkpoint[entry]
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, Tensor) for v in checkpoint.values()):
        return checkpoint
    raise CheckpointContentError(f"{source} has no 'state_dict' or 'model' entry and is not a bare state dict; "
                     f'top-level keys: {sorted(checkpoint)[:10]}')


def load_state_dict_strictly(module: nn.Module, state_dict: Mapping[str, Tensor], source: str,
                             keep_init: Sequence[str] = ()) -> List[str]:
    """Load ``state_dict`` into ``module`` after checking every key and shape.

    Args:
        module: the model.
        state_dict: its weights, under the module's own key names.
        source: how to name the weights in the error (their path).
        keep_init: key prefixes of parts the weights need not hold: loaded when present, otherwise
            they keep their init.

    Returns:
        The keys that kept their init (under ``keep_init``).

    Raises:
        CheckpointContentError: naming the missing, unexpected and mis-shaped keys (a ValueError);
            nothing is loaded then.
    """
    keep_init = tuple(keep_init)
    expected = {k: v for k, v in module.state_dict().items()
                if not (keep_init and k.startswith(keep_init) and k not in state_dict)}
    problems = describe_state_dict_mismatch(expected, state_dict)
    if problems:
        raise CheckpointContentError(f'{source!r} does not fit this {type(module).__name__} (is it another arch?): {problems}')
    missing, unexpected = module.load_state_dict(state_dict, strict=not keep_init)
    assert not unexpected and all(k.startswith(keep_init) for k in missing), (missing, unexpected)
    return missing


def save_checkpoint(obj: Any, path: str) -> None:
    """``torch.save`` that replaces ``path`` all at once (see :func:`atomic_write`)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(osp.abspath(path), buffer.getvalue())


def run_converter(name: str, convert: Callable[[Dict[str, Tensor], Optional[str]], Dict[str, Tensor]],
                  arch_help: str, argv: Optional[Sequence[str]] = None) -> int:
    """Command line of a released-checkpoint converter: ``SRC DST [--ema] [--arch ARCH] [--force]``.

    ``convert(state_dict, arch)`` returns the converted state dict or raises ValueError. The
    result is written atomically as ``{'state_dict': ..., 'meta': ...}``; an existing DST is kept
    unless ``--force``. Returns 0; every refusal is an error of :mod:`secvit_mm.errors` (a
    ``ValueError`` of ``convert`` becomes a :class:`CheckpointContentError`), raised before anything
    is written; the converter tools run it through :func:`secvit_mm.cli.run_cli`.
    """
    parser = argparse.ArgumentParser(description=f'Convert a released {name} checkpoint into an mmpretrain '
                                     'checkpoint of this package (keys backbone.* / head.fc.*)')
    parser.add_argument('src', help='released checkpoint (a dict with model / model_ema, or a state dict)')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument('--ema', action='store_true', help="convert 'model_ema' instead of 'model'")
    parser.add_argument('--arch', help=arch_help)
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    args = parser.parse_args(argv)
    if osp.exists(args.dst) and not args.force:
        raise OutputExistsError(f'{args.dst} exists; pass --force to overwrite it')
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise UsageError('src and dst are the same file')
    entry = 'model_ema' if args.ema else None
    try:
        state_dict = extract_state_dict(read_checkpoint(args.src), args.src, entry)
        converted = convert(state_dict, args.arch)
    except SecvitError:
        raise
    except ValueError as err:  # the converter's own refusals (another arch, a damaged layout)
        raise CheckpointContentError(str(err)) from None
    meta = dict(converted_from=osp.basename(args.src), weights=entry or 'model')
    save_checkpoint(dict(state_dict=converted, meta=meta), args.dst)
    print(f'converted {name} ({meta["weights"]}, {len(converted)} tensors) -> {args.dst}')
    return 0
