"""On a CUDA GPU: SEC attention, every backbone, AMP training steps of each dense family, and the tools.

Marked ``cuda``: skipped where torch sees no GPU (tests/conftest.py). ``SECVIT_MM_CUDA_TESTS_ON_CPU=1``
runs them on the CPU instead, to check the tests themselves on a machine without a GPU (autocast and
``--amp`` then run on the CPU). ``tools/device_check.sh`` runs them on a GPU machine.

Comparisons across devices are made in float64 where the semantic sort is involved: in float32, CPU
and GPU kernels round differently, and a key within rounding of a cluster boundary can land in the
neighbouring cluster, which changes its output by far more than the rounding (docs/performance.md).
"""
import contextlib
import copy
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from secvit_mm.apis import build_model
from secvit_mm.apis.config import enable_amp
from secvit_mm.models.layers import sec_attention
from secvit_mm.testing import reference_sec_attention

from test_configs import demo_data, load, one_batch, tiny_det, tiny_seg  # noqa: F401

pytestmark = pytest.mark.cuda
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'

BACKBONES = {
    'SecViT-T': dict(type='SecViT', arch='tiny', out_indices=(0, 1, 2, 3), drop_path_rate=0.),
    'SEC-Swin-T': dict(type='SECSwin', arch='tiny', out_indices=(0, 1, 2, 3), drop_path_rate=0.),
    'SEC-FasterViT-0': dict(type='SECFasterViT', arch='0', out_indices=(0, 1, 2, 3), drop_path_rate=0.),
    'CeiT-T': dict(type='CeiT', arch='tiny', out_type='featmap', drop_path_rate=0.),
}
DENSE_CONFIGS = ['mask_rcnn_secvit_t_1x.py', 'retinanet_secvit_t_1x.py', 'cascade_mask_rcnn_secvit_t_1x.py',
                 'upernet_secvit_t_160k_ade20k.py', 'semfpn_secvit_t_80k_ade20k.py']


def qkv(n, batch=2, heads=3, d=32, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, n, d, generator=g, dtype=dtype) for _ in range(3)]


def build_backbone(name, **overrides):
    from mmengine.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(BACKBONES[name], **overrides))
    model.init_weights()
    return model


# (tokens, num_clusters, cluster_size): divisible, padded last cluster, fixed-size clusters (padded)
CASES = [(98 * 4, 4, None), (100, 8, None), (1000, None, 98), (77, None, 7)]


@pytest.mark.parametrize('n,clusters,size', CASES)
def test_sec_attention_on_the_gpu_matches_the_cpu_reference_in_float32(n, clusters, size):
    q, k, v = qkv(n)
    want = reference_sec_attention(q.double(), k.double(), v.double(), clusters, size).float()
    got = sec_attention(q.to(DEVICE), k.to(DEVICE), v.to(DEVICE), num_clusters=clusters, cluster_size=size)
    assert got.device.type == DEVICE and got.dtype == torch.float32
    torch.testing.assert_close(got.cpu(), want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('dtype,tol', [(torch.float16, 5e-3), (torch.bfloat16, 4e-2)],
                         ids=['fp16', 'bf16'])
@pytest.mark.parametrize('clusters,size', [(8, None), (None, 98)], ids=['num_clusters', 'cluster_size'])
def test_sec_attention_under_autocast_matches_the_reference_of_the_same_rounded_inputs(dtype, tol, clusters, size):
    # Under autocast q, k, v arrive in the low precision (outputs of 1x1 convs): the reference sees the
    # same rounded values, so the cluster assignment is the same and only the arithmetic differs.
    q, k, v = (t.to(dtype) for t in qkv(1000))
    want = reference_sec_attention(q.double(), k.double(), v.double(), clusters, size)
    with torch.autocast(DEVICE, dtype=dtype):
        got = sec_attention(q.to(DEVICE), k.to(DEVICE), v.to(DEVICE), num_clusters=clusters, cluster_size=size)
    assert got.dtype == dtype and torch.isfinite(got).all()
    torch.testing.assert_close(got.double().cpu(), want, atol=tol, rtol=tol)


def test_sec_attention_gradients_on_the_gpu_match_the_cpu_reference():
    q, k, v = (t.double().requires_grad_() for t in qkv(100))
    reference_sec_attention(q, k, v, 8).square().sum().backward()
    want = [t.grad.clone() for t in (q, k, v)]
    gq, gk, gv = (t.detach().to(DEVICE).requires_grad_() for t in (q, k, v))
    sec_attention(gq, gk, gv, num_clusters=8).square().sum().backward()
    for got, ref in zip((gq.grad, gk.grad, gv.grad), want):
        torch.testing.assert_close(got.cpu(), ref, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_backbone_on_the_gpu_gives_the_cpu_outputs_in_float64(name):
    model = build_backbone(name).double().eval()
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        want = model(x)
        got = model.to(DEVICE)(x.to(DEVICE))
    assert len(got) == len(want) == 4
    for g, w in zip(got, want):
        assert g.device.type == DEVICE
        torch.testing.assert_close(g.cpu(), w, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_backbone_trains_on_the_gpu_and_checkpointing_gives_the_same_gradients(name):
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(1), device='cpu').to(DEVICE)
    grads = {}
    for with_cp in (False, True):
        model = build_backbone(name, with_cp=with_cp).to(DEVICE).train()
        outs = model(x)
        sum(o.float().mean() for o in outs).backward()
        grads[with_cp] = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        assert grads[with_cp], 'no parameter received a gradient'
        assert all(torch.isfinite(g).all() for g in grads[with_cp].values())
    assert grads[False].keys() == grads[True].keys()
    for key, g in grads[False].items():
        torch.testing.assert_close(grads[True][key], g, atol=1e-5, rtol=1e-4, msg=lambda m: f'{key}: {m}')


@pytest.mark.parametrize('name', sorted(BACKBONES))
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=['fp16', 'bf16'])
def test_backbone_forward_and_backward_under_autocast_stay_finite(name, dtype):
    model = build_backbone(name).to(DEVICE).train()
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(1)).to(DEVICE)
    with torch.autocast(DEVICE, dtype=dtype):
        outs = model(x)
        loss = sum(o.float().mean() for o in outs)
    loss.backward()
    assert all(torch.isfinite(o).all() for o in outs)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('name', DENSE_CONFIGS)
def test_amp_training_step_of_each_dense_family_on_the_built_in_data(name, demo_data):  # noqa: F811
    cfg = load(name)
    if cfg.default_scope == 'mmdet':
        tiny_det(cfg, demo_data['coco'], demo=False)
    else:
        tiny_seg(cfg, demo_data['ade'])
    if DEVICE == 'cuda':
        enable_amp(cfg)  # what tools/train.py --amp does: mmengine's AmpOptimWrapper (GPU only)
        autocast = contextlib.nullcontext()
    else:  # checking the test itself on a CPU: plain fp32 steps (mmcv's CPU NMS takes no bf16)
        autocast = contextlib.nullcontext()
    model = build_model(cfg).to(DEVICE)
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    assert type(optim_wrapper).__name__ == ('AmpOptimWrapper' if DEVICE == 'cuda' else 'OptimWrapper')
    model.train()
    before = {n: p.detach().clone() for n, p in model.backbone.named_parameters()}
    for _ in range(2):
        with autocast:
            losses = model.train_step(one_batch(cfg.train_dataloader), optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values()), losses
    moved = [n for n, p in model.backbone.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert moved, 'the AMP steps did not update the backbone'


def test_train_and_test_tools_run_end_to_end_on_the_gpu_with_amp(demo_data, tmp_path):  # noqa: F811
    coco = demo_data['coco']
    data = [f'train_dataloader.dataset.data_root={coco}', f'val_dataloader.dataset.data_root={coco}',
            f'test_dataloader.dataset.data_root={coco}',
            f'val_evaluator.ann_file={coco}annotations/instances_val2017.json',
            f'test_evaluator.ann_file={coco}annotations/instances_val2017.json',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')
    if DEVICE == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    config = 'configs/demo/mask_rcnn_secvit_t_demo.py'
    work = tmp_path / 'work'
    amp = ['--amp'] if DEVICE == 'cuda' else []  # mmengine's AmpOptimWrapper needs a GPU
    train = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work), *amp,
                            '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', *data],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-4000:]
    assert re.search(r'coco/bbox_mAP: -?\d', log), log[-2000:]
    if DEVICE == 'cuda':
        assert re.search(r'GPU 0: ', log), 'mmengine did not report the GPU in the environment info'
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    test = subprocess.run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', str(tmp_path / 'test'),
                           '--cfg-options', *data], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = test.stdout + test.stderr
    assert test.returncode == 0, log[-4000:]
    assert re.search(r'coco/segm_mAP: -?\d', log), log[-2000:]
