"""Exact resume: save the random generators' states with each checkpoint and restore them on resume.

Select it from a config (``AtomicCheckpointHook`` is the project's checkpoint hook; this one rides
along with any checkpoint hook)::

    custom_hooks = [dict(type='RNGStateHook')]

Why (mmengine 0.10.7): a resumed run re-seeds every generator with ``randomness.seed`` and loads
model, optimizer, scheduler and message-hub states, but not the generators' states. Everything that
draws from them after the checkpoint -- stochastic depth (``torch``), augmentation run in the main
process (``numpy`` / ``random``: ``RandomFlip``, RandAugment with ``num_workers=0``), the base seed
each ``DataLoader`` iterator draws (``torch``) -- then differs from the uninterrupted run, so the
weights drift apart. Worker processes are not affected: mmengine's ``worker_init_fn`` seeds them
with ``seed + worker_id`` whenever they start, and ``DefaultSampler`` / ``InfiniteSampler`` shuffle
from ``seed + epoch`` with their own generator.

How: ``before_save_checkpoint`` stores the states of torch (CPU and CUDA), numpy and ``random`` in
``checkpoint['rng_state']`` -- as plain tensors and ints, so the file still loads with
``torch.load(weights_only=True)`` (:mod:`.safe_load`). ``after_load_checkpoint`` (only while
resuming) restores them:

* Epoch-based loops resume from an end-of-epoch checkpoint: the states are restored at once; nothing
  draws between the load and the next epoch's first batch.
* Iteration-based loops first replay the data stream (``IterBasedTrainLoop.run`` calls
  ``next(dataloader_iterator)`` ``iter`` times, which runs the main-process pipeline and draws a
  base seed at each epoch roll-over). The hook wraps the loop's ``dataloader_iterator`` so that the
  states are restored right after that replay, i.e. just before the batch the uninterrupted run
  fetched after saving the checkpoint.
"""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']


def get_rng_state() -> dict:
    """States of torch (CPU, CUDA), numpy and ``random`` as tensors/ints (weights_only-loadable)."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = dict(
        torch=torch.get_rng_state(),
        numpy=dict(name=np_state[0], keys=torch.from_numpy(np_state[1].astype(np.int64)),
                   pos=int(np_state[2]), has_gauss=int(np_state[3]), cached_gaussian=float(np_state[4])),
        python=dict(version=py_version, internal=torch.tensor(py_internal, dtype=torch.int64),
                    gauss=py_gauss))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    torch.set_rng_state(state['torch'])
    n = state['numpy']
    np.random.set_state((n['name'], n['keys'].numpy().astype(np.uint32), n['pos'], n['has_gauss'],
                         n['cached_gaussian']))
    p = state['python']
    random.setstate((p['version'], tuple(int(v) for v in p['internal'].tolist()), p['gauss']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreAfterReplay:
    """Iterator proxy: after the loop's replay of ``loop.iter`` batches, restore ``state``."""

    def __init__(self, loop, state: dict) -> None:
        self._iterator = loop.dataloader_iterator
        self._replay = loop.iter  # what IterBasedTrainLoop.run skips
        self._state: Optional[dict] = state
        if self._replay == 0:
            self._restore()

    def _restore(self) -> None:
        if self._state is not None:
            set_rng_state(self._state)
            self._state = None

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self._iterator)
        if self._replay > 0:
            self._replay -= 1
            if self._replay == 0:
                self._restore()
        return batch

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves the random generators' states in checkpoints and restores them on resume (see module doc).

    Checkpoints without ``rng_state`` (older runs) resume as before, with a warning. Loading weights
    with ``load_from`` (no resume) leaves the generators alone.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from (fine-tuning / testing): keep the fresh seed
        self._pending = checkpoint.get('rng_state')
        if self._pending is None:
            print_log('RNGStateHook: the checkpoint holds no rng_state; the resumed run will not '
                      'repeat the interrupted one exactly', logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        # Called by the loop's run(), after Runner.resume() is complete (it may re-seed).
        state, self._pending = self._pending, None
        if state is None:
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop: after its data replay
            loop.dataloader_iterator = _RestoreAfterReplay(loop, state)
        else:  # EpochBasedTrainLoop: resumed at an epoch boundary
            set_rng_state(state)
