"""Guards around a run's work dir and checkpoints: the lock, no overwriting, resume and fit checks.

:func:`secvit_mm.apis.runner.prepare_run` runs them in order; each refusal is an error of
:mod:`secvit_mm.errors` that the tools print as one line.
"""
import contextlib
import os
import os.path as osp
import sys
from typing import Iterator, Optional

from mmengine.config import Config

from secvit_mm.errors import (CheckpointContentError, CheckpointMismatchError, CheckpointNotFoundError,
                              OutputExistsError, RunFinishedError, WorkDirLockedError)

__all__ = ['LOCK_NAME', 'check_checkpoint_fits', 'check_resume', 'clean_stale_tmp', 'refuse_to_overwrite',
           'resume_checkpoint', 'work_dir_lock']


def refuse_to_overwrite(work_dir: str, resume: bool) -> None:
    """OutputExistsError when a new run would overwrite the checkpoints of an earlier one.

    Args:
        work_dir (str): the run's work dir.
        resume (bool): the run continues the earlier one (then nothing is refused).
    """
    if resume or not osp.isdir(work_dir):
        return
    earlier = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth') or f == 'last_checkpoint')
    if earlier:
        raise OutputExistsError(
            f'{work_dir} already holds checkpoints of an earlier run ({", ".join(earlier[:4])}); '
            'continue it with --resume, or start a new run with another --work-dir')


LOCK_NAME = '.secvit_mm.lock'


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[None]:
    """Hold ``<work_dir>/.secvit_mm.lock`` (``flock``) for the run; refuse a second run into it.

    The kernel releases the lock when its process dies, so the lock of a killed run is free and is
    taken over (said in one line). Only the main process of a distributed run takes it.
    """
    rank = next((os.environ[k] for k in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')
                 if k in os.environ), '0')  # torchrun / slurm / mpi, before mmengine sets RANK
    if int(rank) != 0:
        yield
        return
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors='replace').strip() or 'unknown'
            raise WorkDirLockedError(
                f'{work_dir} is in use by another run (PID {holder}); wait for it to end, stop '
                'it, or use another --work-dir') from None
        previous = os.pread(fd, 200, 0).decode(errors='replace').strip()
        if previous and previous != str(os.getpid()):
            print(f'{work_dir}: took over the lock of run PID {previous}, which has ended',
                  file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the flock


def clean_stale_tmp(work_dir: str) -> list:
    """Remove ``*.tmp`` checkpoint files a killed run left (call while holding the lock)."""
    from secvit_mm.engine.hooks.atomic_checkpoint import TMP_SUFFIX
    if not osp.isdir(work_dir):
        return []
    stale = sorted(f for f in os.listdir(work_dir)
                   if f.endswith(TMP_SUFFIX) and ('.pth' in f or f.startswith('last_checkpoint')))
    for name in stale:
        os.remove(osp.join(work_dir, name))
    if stale:
        print(f'{work_dir}: removed {len(stale)} partial checkpoint file(s) of an interrupted run: '
              f'{", ".join(stale)}', file=sys.stderr)
    return stale


def resume_checkpoint(work_dir: str, resume: Optional[str]) -> Optional[str]:
    """The file ``--resume`` would load (``auto``: what ``last_checkpoint`` names), checked to exist."""
    if resume != 'auto':
        return resume
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None  # nothing to resume: mmengine starts from scratch, as upstream
    with open(record) as f:
        named = f.read().strip()
    if named and not osp.isfile(named):
        found = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
        raise CheckpointNotFoundError(
            f'{record} names {named!r}, which does not exist; resume from an existing checkpoint '
            f'with --resume PATH (in {work_dir}: {", ".join(found) or "none"}) or delete '
            f'{record} to start over')
    return named or None


def _loop_position(cfg: Config):
    """(unit, max) of the config's train loop: ('epoch', max_epochs) or ('iter', max_iters)."""
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_epochs' in train_cfg:
        return 'epoch', train_cfg['max_epochs']
    if 'max_iters' in train_cfg:
        return 'iter', train_cfg['max_iters']
    return None, None


def check_resume(cfg: Config, checkpoint: dict, path: str) -> None:
    """RunFinishedError for resuming a run that is already finished (mmengine would exit 0 doing nothing).

    Args:
        cfg (Config): the config of the resumed run (its ``train_cfg`` limit).
        checkpoint (dict): the loaded checkpoint (its ``meta`` epoch / iter).
        path (str): the checkpoint's path, for the message.
    """
    unit, limit = _loop_position(cfg)
    done = (checkpoint.get('meta') or {}).get(unit) if unit else None
    if isinstance(done, int) and isinstance(limit, int) and done >= limit:
        key = 'max_epochs' if unit == 'epoch' else 'max_iters'
        raise RunFinishedError(
            f'{path}: this run is already finished ({unit} {done} of {key}={limit}); to train '
            f'longer, resume with a larger train_cfg.{key} (--cfg-options train_cfg.{key}=N), or '
            'start a new run with another --work-dir')


def check_checkpoint_fits(model, path: str, what: str, allow: str) -> dict:
    """Load ``path`` (safely); CheckpointMismatchError with the key table if it does not fit ``model``.

    Args:
        model (nn.Module): the built model (a DDP or TTA wrapper is looked through).
        path (str): the checkpoint.
        what (str): what the checkpoint is for (``'resume'``, ``'test'``), for the message.
        allow (str): how to go on anyway, appended to the message.

    Returns:
        dict: the loaded checkpoint.
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    from mmengine.runner.checkpoint import _load_checkpoint

    from secvit_mm.utils.checkpoint import describe_state_dict_mismatch, extract_state_dict
    checkpoint = _load_checkpoint(path, map_location='cpu')
    try:
        state_dict = extract_state_dict(checkpoint, path)
    except CheckpointContentError as err:
        raise CheckpointMismatchError(str(err)) from None
    state_dict = {k[7:] if k.startswith('module.') else k: v for k, v in state_dict.items()}
    # What the Runner loads the checkpoint into: the module inside a DDP or TTA wrapper.
    model = model.module if is_model_wrapper(model) or isinstance(model, BaseTTAModel) else model
    problem = describe_state_dict_mismatch(model.state_dict(), state_dict)
    if problem:
        table = '\n'.join(f'  {part}' for part in problem.split('; '))
        raise CheckpointMismatchError(
            f'{path} does not fit the model of this config ({what}):\n{table}\n'
            f'Use the checkpoint of this config{allow}.')
    return checkpoint
