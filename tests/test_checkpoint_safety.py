"""Runner checkpoints load with safe unpickling (weights_only=True) and are saved crash-safe.

Specification (torch >= 2.6 unpickles checkpoints with ``weights_only=True``):

* once ``secvit_mm`` is imported, mmengine's own ``load_checkpoint`` and ``Runner`` resume load the
  checkpoints the Runner wrote (model, optimizer, param schedulers, message hub, numpy values);
* a checkpoint crafted to run code when unpickled is refused with a clear error and nothing runs;
* with ``type='AtomicCheckpointHook'``, a crash while saving leaves the previous checkpoint and
  the ``last_checkpoint`` pointer intact and loadable.

Everything runs a real Runner (tiny model, in-memory data, CPU); only the byte-writing step of the
atomic writer is replaced, to simulate the crash.
"""
import builtins
import copy
import hashlib
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.registry import METRICS
from mmengine.runner import Runner, load_checkpoint

import secvit_mm  # noqa: F401  (what ``custom_imports`` does)
from secvit_mm.engine.hooks import atomic_checkpoint
from secvit_mm.errors import UnsafeCheckpointError
from secvit_mm.utils import load_checkpoint_safely

MAX_EPOCHS = 2


# --------------------------------------------------------------------------------------------
# A tiny but complete training setup
# --------------------------------------------------------------------------------------------
class TinyClassifier(BaseModel):
    """Linear layer + BatchNorm (parameters and buffers, incl. an int64 counter)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.bn(self.fc(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, torch.stack(labels)))
        if mode == 'predict':
            return list(zip(logits.argmax(1).tolist(), torch.stack(labels).tolist()))
        return logits


class TinyDataset(torch.utils.data.Dataset):
    """16 samples; its metainfo (saved into every checkpoint) holds numpy values."""

    metainfo = dict(
        classes=('negative', 'positive'),
        palette=np.array([[0, 0, 0], [255, 0, 0]], dtype=np.uint8),
        positive_ratio=np.float32(0.5),
        class_weights=np.array([1.0, 2.0]),
    )

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 4, generator=generator)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return dict(inputs=self.x[index], labels=self.y[index])


@METRICS.register_module(force=True)
class SecvitTestImprovingScore(BaseMetric):
    """Returns a numpy float that improves at every evaluation: each one saves a new best."""

    evaluations = 0

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        type(self).evaluations += 1
        return dict(acc=np.float64(type(self).evaluations))


class StateProbe(Hook):
    """Records the runner state at ``before_train``, i.e. right after a resume."""

    priority = 'LOWEST'

    def before_train(self, runner):
        self.epoch, self.iter = runner.epoch, runner.iter
        self.optimizer = copy.deepcopy(runner.optim_wrapper.state_dict())
        self.schedulers = [copy.deepcopy(s.state_dict()) for s in runner.param_schedulers]
        self.message_hub = copy.deepcopy(runner.message_hub.state_dict())
        self.model = {k: v.clone() for k, v in runner.model.state_dict().items()}


class SimulatedCrash(BaseException):
    """Stands for the process dying (a BaseException: no ``except Exception`` may swallow it)."""


def build_runner(work_dir, checkpoint, *, validate=True, resume=False, load_from=None,
                 custom_hooks=(), max_epochs=MAX_EPOCHS):
    dataloader = dict(dataset=TinyDataset(), batch_size=4, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=True))
    val = dict(val_dataloader=dict(dataloader, sampler=dict(type='DefaultSampler', shuffle=False)),
               val_evaluator=dict(type='SecvitTestImprovingScore'), val_cfg=dict())
    return Runner(
        model=TinyClassifier(),
        work_dir=str(work_dir),
        experiment_name=f'ckpt_safety_{uuid.uuid4().hex[:8]}',
        train_dataloader=dataloader,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1),
            dict(type='MultiStepLR', milestones=[1], by_epoch=True),
        ],
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=list(custom_hooks),
        randomness=dict(seed=0),
        resume=resume,
        load_from=None if load_from is None else str(load_from),
        log_level='WARNING',
        **(val if validate else {}))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checkpoint_files(work_dir):
    return sorted(p.name for p in Path(work_dir).iterdir() if p.suffix in ('.pth', '.tmp'))


def pointer(work_dir):
    return Path(work_dir, 'last_checkpoint').read_text()


@pytest.fixture(scope='module')
def stock_run(tmp_path_factory):
    """A run with mmengine's own ``CheckpointHook``: the checkpoints mmengine writes."""
    work_dir = tmp_path_factory.mktemp('stock')
    runner = build_runner(work_dir, dict(type='CheckpointHook', interval=1, save_best='acc',
                                         rule='greater'))
    runner.train()
    return work_dir, runner


# --------------------------------------------------------------------------------------------
# (a) Runner checkpoints load with weights_only=True
# --------------------------------------------------------------------------------------------
def test_every_global_in_a_runner_checkpoint_is_allowlisted(stock_run):
    work_dir, _ = stock_run
    for name in ('epoch_1.pth', f'epoch_{MAX_EPOCHS}.pth', f'best_acc_epoch_{MAX_EPOCHS}.pth'):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(str(work_dir / name)) == []


def test_mmengine_load_checkpoint_restores_weights_and_numpy_meta(stock_run):
    work_dir, runner = stock_run
    model = TinyClassifier()

    checkpoint = load_checkpoint(model, str(work_dir / f'epoch_{MAX_EPOCHS}.pth'),
                                 map_location='cpu', strict=True)

    for key, value in runner.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    dataset_meta = checkpoint['meta']['dataset_meta']
    np.testing.assert_array_equal(dataset_meta['palette'], TinyDataset.metainfo['palette'])
    assert dataset_meta['palette'].dtype == np.uint8
    assert dataset_meta['positive_ratio'] == np.float32(0.5)
    assert isinstance(dataset_meta['positive_ratio'], np.float32)
    hub = checkpoint['message_hub']
    assert isinstance(hub['runtime_info']['best_score'], np.float64)
    assert isinstance(hub['log_scalars']['train/loss'], HistoryBuffer)
    assert hub['log_scalars']['train/loss'].mean() > 0  # statistics methods were restored


def test_runner_resume_restores_epoch_optimizer_schedulers_and_message_hub(stock_run, tmp_path):
    work_dir, _ = stock_run
    saved = load_checkpoint_safely(work_dir / 'epoch_1.pth')
    probe = StateProbe()
    runner = build_runner(tmp_path, dict(type='CheckpointHook', interval=1), resume=True,
                          load_from=work_dir / 'epoch_1.pth', custom_hooks=[probe])

    runner.train()

    assert (probe.epoch, probe.iter) == (1, 4)
    for key, value in saved['state_dict'].items():
        assert torch.equal(probe.model[key], value), key
    saved_momentum = [s['momentum_buffer'] for s in saved['optimizer']['state'].values()]
    resumed_momentum = [s['momentum_buffer'] for s in probe.optimizer['state'].values()]
    assert len(saved_momentum) == 4
    assert all(torch.equal(a, b) for a, b in zip(saved_momentum, resumed_momentum))
    assert [s['last_step'] for s in probe.schedulers] == \
        [s['last_step'] for s in saved['param_schedulers']]
    assert probe.message_hub['runtime_info']['best_score'] == \
        saved['message_hub']['runtime_info']['best_score']
    np.testing.assert_array_equal(probe.message_hub['log_scalars']['train/loss'].data[0],
                                  saved['message_hub']['log_scalars']['train/loss'].data[0])
    assert runner.epoch == MAX_EPOCHS


# --------------------------------------------------------------------------------------------
# (b) a checkpoint that would run code is refused, and nothing runs
# --------------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this object calls ``func(*args)`` -- the classic pickle attack."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _attacks(marker):
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        'os.system': _Payload(os.system, f'touch {marker}'),
        'builtins.exec': _Payload(builtins.exec, touch),
        'builtins.eval': _Payload(builtins.eval, touch),
        'shutil.copyfile': _Payload(shutil.copyfile, __file__, str(marker)),
        # getattr is only honoured for HistoryBuffer's statistic methods
        'getattr gadget': _Payload(getattr, HistoryBuffer, 'register_statistics'),
    }


ATTACKS = ['os.system', 'builtins.exec', 'builtins.eval', 'shutil.copyfile', 'getattr gadget']
EXPECTED_OFFENDER = {
    'os.system': 'posix.system' if os.name == 'posix' else 'nt.system',
    'builtins.exec': 'exec',
    'builtins.eval': 'eval',
    'shutil.copyfile': 'shutil.copyfile',
    'getattr gadget': "getattr(HistoryBuffer, 'register_statistics')",
}


def _write_malicious_checkpoint(path, attack, marker):
    # Looks like a Runner checkpoint; the payload hides in the meta.
    torch.save(dict(state_dict=TinyClassifier().state_dict(),
                    meta=dict(epoch=1, note=_attacks(marker)[attack])), path)


@pytest.mark.parametrize('attack', ATTACKS)
def test_mmengine_load_checkpoint_refuses_code_running_checkpoint(tmp_path, attack):
    marker = tmp_path / 'code_was_executed'
    path = tmp_path / 'malicious.pth'
    _write_malicious_checkpoint(path, attack, marker)

    with pytest.raises(UnsafeCheckpointError) as excinfo:
        load_checkpoint(TinyClassifier(), str(path), map_location='cpu')

    message = str(excinfo.value)
    assert message.startswith(f'refused: checkpoint {str(path)!r} contains non-allowlisted object')
    assert EXPECTED_OFFENDER[attack] in message
    assert 'if you trust the file' in message.lower()
    assert isinstance(excinfo.value, pickle.UnpicklingError)
    assert not marker.exists()


def test_plain_pickle_file_with_payload_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'code_was_executed'
    path = tmp_path / 'legacy_format.pth'
    path.write_bytes(pickle.dumps(_attacks(marker)['os.system'], protocol=2))

    with pytest.raises(UnsafeCheckpointError, match='posix.system|nt.system'):
        load_checkpoint_safely(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # torch's default path stays safe as well
    assert not marker.exists()


def test_runner_resume_refuses_code_running_checkpoint(tmp_path):
    marker = tmp_path / 'code_was_executed'
    path = tmp_path / 'malicious.pth'
    _write_malicious_checkpoint(path, 'builtins.exec', marker)
    runner = build_runner(tmp_path / 'work', dict(type='CheckpointHook', interval=1),
                          validate=False, resume=True, load_from=path)

    with pytest.raises(UnsafeCheckpointError, match='exec'):
        runner.train()
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# (c) AtomicCheckpointHook: a crash while saving leaves the previous checkpoint usable
# --------------------------------------------------------------------------------------------
class FileSnapshot(Hook):
    """After each epoch's saving, records the hash of every checkpoint and the pointer."""

    priority = 'LOWEST'  # after the checkpoint hook (VERY_LOW)

    def __init__(self):
        self.after_epoch = []

    def after_val_epoch(self, runner, metrics=None):
        self.after_epoch.append(self.take(runner.work_dir))

    def after_train_epoch(self, runner):
        if runner.val_loop is None:  # otherwise recorded once validation has saved the best
            self.after_epoch.append(self.take(runner.work_dir))

    @staticmethod
    def take(work_dir):
        files = {name: sha256(Path(work_dir, name)) for name in checkpoint_files(work_dir)}
        return files, pointer(work_dir)


def crash_while_writing(monkeypatch, filename, occurrence=1):
    """The ``occurrence``-th write of ``filename`` stops halfway and the process "dies"."""
    real_write = atomic_checkpoint._write_all
    seen = []

    def write_half_then_crash(f, data):
        if Path(f.name).name == filename + atomic_checkpoint.TMP_SUFFIX:
            seen.append(f.name)
            if len(seen) == occurrence:
                real_write(f, data[:len(data) // 2])
                f.flush()
                raise SimulatedCrash(f.name)
        real_write(f, data)

    monkeypatch.setattr(atomic_checkpoint, '_write_all', write_half_then_crash)


def train_until_crash(runner):
    with pytest.raises(SimulatedCrash):
        runner.train()


def assert_loadable(path, epoch):
    checkpoint = load_checkpoint(TinyClassifier(), str(path), map_location='cpu')
    assert checkpoint['meta']['epoch'] == epoch


def test_crash_while_overwriting_a_checkpoint_keeps_the_previous_file(tmp_path, monkeypatch):
    snapshot = FileSnapshot()
    runner = build_runner(
        tmp_path, dict(type='AtomicCheckpointHook', interval=1, filename_tmpl='latest.pth'),
        validate=False, custom_hooks=[snapshot])
    crash_while_writing(monkeypatch, 'latest.pth', occurrence=2)

    train_until_crash(runner)

    assert len(snapshot.after_epoch) == 1
    assert FileSnapshot.take(tmp_path) == snapshot.after_epoch[0]  # byte-identical, no .tmp left
    assert pointer(tmp_path) == str(tmp_path / 'latest.pth')
    assert_loadable(tmp_path / 'latest.pth', epoch=1)


def test_crash_while_saving_keeps_the_checkpoint_that_max_keep_ckpts_rotates_out(
        tmp_path, monkeypatch):
    runner = build_runner(
        tmp_path, dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1),
        validate=False)
    crash_while_writing(monkeypatch, 'epoch_2.pth')

    train_until_crash(runner)

    assert checkpoint_files(tmp_path) == ['epoch_1.pth']
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert_loadable(tmp_path / 'epoch_1.pth', epoch=1)


def test_crash_while_saving_a_new_best_keeps_the_previous_best(tmp_path, monkeypatch):
    snapshot = FileSnapshot()
    runner = build_runner(
        tmp_path, dict(type='AtomicCheckpointHook', interval=1, save_best='acc', rule='greater'),
        custom_hooks=[snapshot])
    crash_while_writing(monkeypatch, 'best_acc_epoch_2.pth')

    train_until_crash(runner)

    assert FileSnapshot.take(tmp_path)[0] == {**snapshot.after_epoch[0][0],
                                              'epoch_2.pth': sha256(tmp_path / 'epoch_2.pth')}
    assert_loadable(tmp_path / 'best_acc_epoch_1.pth', epoch=1)


def test_crash_while_writing_the_pointer_keeps_the_previous_pointer(tmp_path, monkeypatch):
    runner = build_runner(tmp_path, dict(type='AtomicCheckpointHook', interval=1),
                          validate=False)
    crash_while_writing(monkeypatch, 'last_checkpoint', occurrence=2)

    train_until_crash(runner)

    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert checkpoint_files(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']
    assert_loadable(tmp_path / 'epoch_1.pth', epoch=1)
    assert_loadable(tmp_path / 'epoch_2.pth', epoch=2)


@pytest.mark.parametrize('options, expected_files', [
    (dict(max_keep_ckpts=1, save_best='acc', rule='greater', published_keys=['meta', 'state_dict']),
     sorted(['best_acc_epoch_3.pth', 'best_acc_epoch_3-<sha>.pth', 'epoch_3.pth',
             'epoch_3-<sha>.pth'])),
    # every save reuses one name: the "outdated" file and the previous best are the new files
    (dict(filename_tmpl='latest.pth', max_keep_ckpts=1, save_best='acc', rule='greater'),
     ['best_acc_latest.pth', 'latest.pth']),
], ids=['rotation+best+publish', 'fixed-filename'])
def test_atomic_hook_keeps_the_same_files_as_the_stock_hook_after_every_epoch(
        tmp_path, options, expected_files):
    def names(files):
        return sorted(re.sub(r'-[0-9a-f]{8}\.pth$', '-<sha>.pth', name) for name in files)

    runs = {}
    for hook_type in ('CheckpointHook', 'AtomicCheckpointHook'):
        work_dir = tmp_path / hook_type
        snapshot = FileSnapshot()
        build_runner(work_dir, dict(type=hook_type, interval=1, **options), max_epochs=3,
                     custom_hooks=[snapshot]).train()
        for name in checkpoint_files(work_dir):
            load_checkpoint_safely(work_dir / name)
        runs[hook_type] = dict(
            per_epoch=[(names(files), Path(ptr).name) for files, ptr in snapshot.after_epoch],
            final=names(checkpoint_files(work_dir)))

    assert runs['AtomicCheckpointHook'] == runs['CheckpointHook']
    assert runs['AtomicCheckpointHook']['final'] == expected_files


def _killed_mid_save(work_dir):
    """Child process: trains with max_keep_ckpts=1; SIGKILLed halfway through saving epoch 2."""
    real_write = atomic_checkpoint._write_all

    def write_half_then_die(f, data):
        if f.name.endswith('epoch_2.pth' + atomic_checkpoint.TMP_SUFFIX):
            real_write(f, data[:len(data) // 2])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_write(f, data)

    atomic_checkpoint._write_all = write_half_then_die
    build_runner(work_dir, dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1),
                 validate=False).train()


@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='needs SIGKILL')
def test_process_killed_mid_save_resumes_automatically_from_the_previous_checkpoint(tmp_path):
    work_dir = tmp_path / 'work'
    child = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
        import test_checkpoint_safety
        test_checkpoint_safety._killed_mid_save({str(work_dir)!r})
    """)
    proc = subprocess.run([sys.executable, '-c', child], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    # The half-written file never took a checkpoint's name; the previous one is still there.
    assert checkpoint_files(work_dir) == ['epoch_1.pth', 'epoch_2.pth.tmp']
    partial_size = (work_dir / 'epoch_2.pth.tmp').stat().st_size
    assert 0 < partial_size < (work_dir / 'epoch_1.pth').stat().st_size
    assert pointer(work_dir) == str(work_dir / 'epoch_1.pth')

    probe = StateProbe()
    runner = build_runner(work_dir, dict(type='AtomicCheckpointHook', interval=1,
                                         max_keep_ckpts=1),
                          validate=False, resume=True, custom_hooks=[probe])
    runner.train()

    assert (probe.epoch, probe.iter) == (1, 4)
    assert runner.epoch == MAX_EPOCHS
    assert pointer(work_dir) == str(work_dir / 'epoch_2.pth')
    assert checkpoint_files(work_dir) == ['epoch_2.pth']  # stale .tmp replaced, epoch 1 rotated out
    assert_loadable(work_dir / 'epoch_2.pth', epoch=2)
