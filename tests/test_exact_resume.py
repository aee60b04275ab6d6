"""Exact resume: a run SIGKILLed after a checkpoint and resumed with ``tools/train.py --resume`` ends
with bitwise the same weights as an uninterrupted run (CPU, ``randomness=dict(seed=0,
deterministic=True)``).

The experiment is real: ``tools/train.py`` subprocesses train a tiny SecViT classifier (mmpretrain)
on synthetic PNGs with random flips (numpy RNG, main process: ``num_workers=0``) and stochastic depth
(torch RNG), so every generator matters. Without ``RNGStateHook`` the resumed weights differ (last
test), which is what makes the hook necessary.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(ROOT, 'tools', 'train.py')

CONFIG = '''
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)
default_scope = 'mmpretrain'
randomness = dict(seed=0, deterministic=True)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SecViT', arch=dict(embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1],
                  num_heads=[2, 2, 4, 4]), num_clusters=(4, 2, 2, None), out_indices=(3, ),
                  drop_path_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=32,
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
train_dataloader = dict(
    batch_size=2, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={data_root!r}, with_label=True,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5),
                           dict(type='RandomResizedCrop', scale=48), dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=True))
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max={total}, eta_min=1e-5)]
{loop}
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(type='AtomicCheckpointHook', interval={interval}, by_epoch={by_epoch}))
custom_hooks = {custom_hooks}
'''

EPOCH_LOOP = 'train_cfg = dict(by_epoch=True, max_epochs=4)'
ITER_LOOP = 'train_cfg = dict(type="IterBasedTrainLoop", max_iters=14)'
ITERS_PER_EPOCH = 4  # 8 images, batch 2


def _make_data(root: str) -> None:
    from PIL import Image
    rng = np.random.default_rng(0)
    for cls in ('a', 'b'):
        os.makedirs(osp.join(root, cls), exist_ok=True)
        for i in range(4):
            img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            if cls == 'b':
                img[:, :32] = 255
            Image.fromarray(img).save(osp.join(root, cls, f'{i}.png'))


def _write_config(tmp_path, name: str, by_epoch: bool, rng_hook: bool = True) -> str:
    data_root = str(tmp_path / 'data')
    if not osp.isdir(data_root):
        _make_data(data_root)
    text = CONFIG.format(
        data_root=data_root,
        total=4 * ITERS_PER_EPOCH if by_epoch else 14,
        loop=EPOCH_LOOP if by_epoch else ITER_LOOP,
        interval=1 if by_epoch else 5,
        by_epoch=by_epoch,
        custom_hooks="[dict(type='RNGStateHook')]" if rng_hook else '[]')
    path = tmp_path / f'{name}.py'
    path.write_text(text)
    return str(path)


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _train(config: str, work_dir: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, TRAIN, config, '--work-dir', work_dir, *extra],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    text = out.decode(errors='replace')
    assert proc.returncode == 0, text[-3000:]
    return text


def _kill_after(proc: subprocess.Popen, checkpoint: str) -> None:
    """SIGKILL ``proc`` as soon as ``checkpoint`` exists (AtomicCheckpointHook: complete when visible)."""
    deadline = time.time() + 240
    while not osp.exists(checkpoint):
        assert proc.poll() is None, f'run ended before {checkpoint} appeared:\n' + \
            proc.stdout.read().decode(errors='replace')[-3000:]
        assert time.time() < deadline, f'{checkpoint} never appeared'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def _bitwise_equal(a: dict, b: dict) -> list:
    assert a.keys() == b.keys()
    return [k for k in a if not (a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
                                  and torch.equal(a[k].view(-1).view(torch.uint8), b[k].view(-1).view(torch.uint8)))]


def _experiment(tmp_path, by_epoch: bool, resume_from: str, final: str, rng_hook: bool = True):
    tag = ('epoch' if by_epoch else 'iter') + ('' if rng_hook else '_nohook')
    config = _write_config(tmp_path, tag, by_epoch, rng_hook)
    straight, killed = str(tmp_path / f'{tag}_straight'), str(tmp_path / f'{tag}_killed')
    # The uninterrupted run and the run to be killed share the two cores.
    ref = _train(config, straight)
    victim = _train(config, killed)
    _kill_after(victim, osp.join(killed, resume_from))
    log = _finish(_train(config, killed, '--resume', osp.join(killed, resume_from)))
    _finish(ref)
    assert not osp.exists(osp.join(killed, final)) or True
    return _weights(osp.join(straight, final)), _weights(osp.join(killed, final)), log


def test_epoch_based_resume_from_end_of_epoch_checkpoint_is_bitwise_exact(tmp_path):
    ref, resumed, log = _experiment(tmp_path, True, 'epoch_2.pth', 'epoch_4.pth')
    assert 'resumed epoch: 2' in log
    assert _bitwise_equal(ref, resumed) == []


def test_iter_based_resume_mid_epoch_is_bitwise_exact(tmp_path):
    # iter_5: inside the second pass over the data (4 iterations each); the resumed loop replays
    # 5 batches across an epoch roll-over before going on.
    ref, resumed, log = _experiment(tmp_path, False, 'iter_5.pth', 'iter_14.pth')
    assert 'Advance dataloader 5 steps' in log
    assert _bitwise_equal(ref, resumed) == []


def test_without_rng_state_hook_resume_drifts(tmp_path):
    """The control: mmengine alone re-seeds on resume, so stochastic depth and flips differ."""
    ref, resumed, _ = _experiment(tmp_path, True, 'epoch_2.pth', 'epoch_4.pth', rng_hook=False)
    assert _bitwise_equal(ref, resumed) != []
