"""Crash-safe checkpoint saving: a kill while saving leaves the previous checkpoint usable.

Select it from a config: ``default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))``.
Why mmengine's own hook is not enough, and why a file backend plus a hook: docs/robustness.md,
"Crash-safe checkpoints".
"""
import contextlib
import hashlib
import os
import os.path as osp
import pickle
from typing import Iterator, List, Tuple, Union

import mmengine
from mmengine.dist import is_main_process, master_only
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'ATOMIC_BACKEND_ARGS',
    'atomic_write'
]

TMP_SUFFIX = '.tmp'
#: ``backend_args`` selecting :class:`AtomicLocalBackend` (also usable with the stock hook).
ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')


def _write_all(f, data: bytes) -> None:
    """The single low-level write of :func:`atomic_write` (tests replace it to simulate a crash)."""
    f.write(data)


def _fsync_dir(dirname: str) -> None:
    """Persist a rename: fsync the directory entry (POSIX; a no-op where unsupported)."""
    if not hasattr(os, 'O_DIRECTORY'):
        return
    try:
        fd = os.open(dirname or '.', os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Union[str, os.PathLike], data: Union[bytes, str],
                 encoding: str = 'utf-8') -> None:
    """Replace ``path`` by ``data`` all at once: readers see the old or the new file, never a part.

    Writes ``<path>.tmp``, fsyncs it, ``os.replace``-s it onto ``path`` and fsyncs the directory.
    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode(encoding)
    dirname = osp.dirname(path)
    if dirname:
        mmengine.mkdir_or_exist(dirname)
    tmp = path + TMP_SUFFIX
    try:
        with open(tmp, 'wb') as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(err, OSError) and err.filename is None:
            err.filename = path  # a failed write() names no file; the user needs to know which
        raise
    _fsync_dir(dirname)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose writes are atomic (see :func:`atomic_write`).

    Select it with ``backend_args=dict(backend='atomic_local')``.
    """

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj, encoding=encoding)


class _RemovalsDeferred:
    """File-backend proxy that records ``remove``/``rmtree`` instead of doing them."""

    def __init__(self, backend):
        self.backend = backend
        self.pending: List[Tuple[str, str]] = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, filepath) -> None:
        self.pending.append(('remove', filepath))

    def rmtree(self, dir_path) -> None:
        self.pending.append(('rmtree', dir_path))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a half-written or missing checkpoint behind.

    Same arguments and files as :class:`mmengine.hooks.CheckpointHook`, and:

    * checkpoints are written with :class:`AtomicLocalBackend` when they go to a local directory
      and neither ``backend_args`` nor ``file_client_args`` is given (an explicit storage backend,
      e.g. an object store, is used as configured);
    * the ``last_checkpoint`` pointer is replaced atomically;
    * checkpoints rotated out by ``max_keep_ckpts`` and the previous best checkpoint are deleted
      only after the new checkpoint and the pointer are on disk.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._select_atomic_backend = (
            self.backend_args is None and self.file_client_args is None)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._select_atomic_backend and type(self.file_backend) is LocalBackend:
            self.backend_args = dict(ATOMIC_BACKEND_ARGS)
            self.file_backend = AtomicLocalBackend()
        if not isinstance(self.file_backend, AtomicLocalBackend):
            runner.logger.warning(
                f'AtomicCheckpointHook: checkpoints go through {type(self.file_backend).__name__}, '
                'so whether a checkpoint write is atomic depends on that storage.')

    # -- deletions happen only once the new checkpoint is safely on disk ------------------------

    def _live_checkpoints(self) -> set:
        live = {self.last_ckpt, getattr(self, 'best_ckpt_path', None)}
        live.update(getattr(self, 'best_ckpt_path_dict', {}).values())
        return {str(p) for p in live if p is not None}

    @contextlib.contextmanager
    def _removals_deferred(self) -> Iterator[None]:
        """Hold back checkpoint deletions until the block has completed without error."""
        if isinstance(self.file_backend, _RemovalsDeferred):  # nested: the outer block decides
            yield
            return
        backend = self.file_backend
        deferred = _RemovalsDeferred(backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        live = self._live_checkpoints()  # a name saved again in the block must not be deleted
        for operation, path in deferred.pending:
            if str(path) not in live:
                getattr(backend, operation)(path)

    def _remove_checkpoint(self, path) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._removals_deferred():
            super()._save_best_checkpoint(runner, metrics)

    def _save_checkpoint_with_step(self, runner, step, meta):
        # mmengine 0.10.7's steps, reordered: bookkeeping, save, pointer, then delete.
        with self._removals_deferred():
            outdated = []
            if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) > 0
                                                and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    outdated.append(self.keep_ckpt_ids.popleft())
                self.keep_ckpt_ids.append(step)
                # Recorded before saving, so the new checkpoint already knows what it replaced.
                runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

            ckpt_filename = self.filename_tmpl.format(step)
            self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
            runner.message_hub.update_info('last_ckpt', self.last_ckpt)

            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)

            # Model-parallel-like training pulls sharded states from all ranks but stops here.
            if not is_main_process():
                return

            atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), str(self.last_ckpt))
            for outdated_step in outdated:
                self._remove_checkpoint(
                    self.file_backend.join_path(self.out_dir,
                                                self.filename_tmpl.format(outdated_step)))

    @master_only
    def _publish_model(self, runner, ckpt_path: str) -> None:
        # mmengine 0.10.7's implementation, writing through ``self.backend_args`` (atomic).
        from mmengine.runner import save_checkpoint
        from mmengine.runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(ckpt_path)
        assert self.published_keys is not None
        removed_keys = []
        for key in list(checkpoint.keys()):
            if key not in self.published_keys:
                removed_keys.append(key)
                checkpoint.pop(key)
        if removed_keys:
            print_log(
                f'Key {removed_keys} will be removed because they are not '
                'found in published_keys. If you want to keep them, '
                f'please set `{removed_keys}` in published_keys',
                logger='current')
        checkpoint_data = pickle.dumps(checkpoint)
        sha = hashlib.sha256(checkpoint_data).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        save_checkpoint(checkpoint, final_path, backend_args=self.backend_args)
        print_log(
            f'The checkpoint ({ckpt_path}) is published to {final_path}.',
            logger='current')
