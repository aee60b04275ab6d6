"""Where the tools write: an output folder that can be made, apart from the inputs.

* :func:`check_output_dir` -- no regular file on the path of an output folder;
* :func:`check_outputs_apart` -- output folders and inputs must not overlap, so no output replaces
  an input and no later run reads an earlier run's outputs as inputs;
* :func:`input_folders` -- the folders a split's datasets read.

The files themselves are written whole by :mod:`secvit_mm.utils.atomic_files`.
"""
import os
import os.path as osp
from typing import Iterable

from secvit_mm.checks.preflight import leaf_datasets
from secvit_mm.errors import OutputPathError

__all__ = ['check_output_dir', 'check_outputs_apart', 'input_folders']


def check_output_dir(path: str, option: str) -> None:
    """OutputPathError when ``path`` cannot become a folder: it, or a folder above it, is a file.

    Args:
        path (str): the output folder (need not exist yet).
        option (str): how the user gave it (e.g. ``'--work-dir'``), named in the error.
    """
    current = osp.abspath(path)
    while not osp.exists(current) and osp.dirname(current) != current:
        current = osp.dirname(current)
    if osp.exists(current) and not osp.isdir(current):
        where = 'is a file' if current == osp.abspath(path) else f'is under {current}, which is a file'
        raise OutputPathError(f'{option} {path} {where}, not a folder; choose a folder for {option}')


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies under it (both made absolute, symlinks resolved)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_outputs_apart(out_dirs: Iterable[str], inputs: Iterable[str], option: str, given: str) -> None:
    """OutputPathError when an output folder and an input overlap.

    Refused: an input (file or folder) inside an output folder (it would be overwritten, or read
    back with the outputs), and an output folder inside an input folder (the next run would take
    the outputs for inputs).

    Args:
        out_dirs (Iterable[str]): the folders the tool writes into.
        inputs (Iterable[str]): the files and folders it reads.
        option (str): the option that chose the outputs (e.g. ``'--out'``).
        given (str): its value, as the user gave it.
    """
    for out_dir in out_dirs:
        for source in inputs:
            if _inside(source, out_dir) or (osp.isdir(source) and _inside(out_dir, source)):
                raise OutputPathError(
                    f'{option} {given} would write into {out_dir}, which overlaps the input '
                    f'{source} (outputs would overwrite inputs, or be read as inputs next time); '
                    f'choose {option} outside {source}')


def input_folders(cfg, split: str = 'test') -> list:
    """The local folders the datasets of ``split`` read: each one's ``data_root``, or, without one,
    the folders of its image prefixes."""
    loader = cfg.get(f'{split}_dataloader')
    folders = []
    for dataset in leaf_datasets(loader.get('dataset') if isinstance(loader, dict) else None):
        root = dataset.get('data_root') or ''
        if not isinstance(root, str) or '://' in root:
            continue
        prefixes = dataset.get('data_prefix') or {}
        found = [root] if root else [p for p in prefixes.values() if isinstance(p, str) and p and '://' not in p]
        folders += [f for f in found if osp.isdir(f) and f not in folders]
    return folders
