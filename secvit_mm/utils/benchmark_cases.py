"""The cases, workers and targets of ``tools/benchmark.py``: speed, memory and output agreement of SecViT
against the plain released algorithm and Swin-T.

    python tools/benchmark.py --out benchmark_results/full.json          # everything (~1 h on 2 cores)
    python tools/benchmark.py --quick                                    # 224x224x8 + 512x512, minutes
    python tools/benchmark.py --cases secvit_cs98,swin_t --sizes 800x1216 --repeats 5
    python tools/benchmark.py --cases secvit_paper+compile,secvit_paper+bf16,secvit_paper+cp --sizes 512x512
    python tools/benchmark.py --device cuda --gpu                           # the GPU set (tools/device_check.sh)

Cases (backbones, batch x 3 x H x W input, all four stage outputs):

* ``reference``: the plain released SecViT-T (``secvit_mm.testing.released_secvit``): sort, gather,
  per-cluster matmul, softmax, inverse gather, materialised attention maps; clusters 32/8/2/global.
* ``secvit_paper``: this package's SecViT-T, the paper's clusters (32/8/2/global), same weights.
* ``secvit_cs98``: SecViT-T with ``cluster_size=98`` (linear in the image), same weights.
* ``swin_t``: mmdet's SwinTransformer with the Swin-T settings (96, [2,2,6,2], [3,6,12,24], window 7).
* suffixes: ``+compile`` (``torch.compile`` of the backbone), ``+bf16`` / ``+fp16`` (bf16 / fp16
  autocast on the benchmark's device), ``+cp`` (``with_cp=True``: activation checkpointing, for
  training memory).

Detectors (``--detectors``): one training step (data preprocessing, losses, backward, AdamW step) of
Mask R-CNN with SecViT-T (configs/mask_rcnn_secvit_t_1x.py, ``model.backbone.init_cfg=None``) and with
Swin-T (``mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py`` without its pretrained weights), inputs
from ``mmdet.testing.demo_mm_inputs``. ``maskrcnn_secvit_cs98`` is the SecViT one with cluster_size=98.

Method:

* Every (case, size, phase) runs in a fresh subprocess with ``torch.set_num_threads(--threads)``.
* Time: best of ``--repeats`` after ``--warmup`` runs (fewer repeats when one run is long: the timed
  runs of a phase stop after ``--budget`` seconds). ``fwd`` is eval mode under ``torch.no_grad``;
  ``fwd+bwd`` is train mode, ``sum(out.mean())`` backward, gradients dropped.
* Memory: peak resident memory of the phase above the resident memory after the model and input
  were built (the kernel's VmHWM, reset through /proc/self/clear_refs at the start of the phase;
  ru_maxrss minus the RSS after the build where that is not available). It counts everything the
  phase allocates: activations, saved tensors, gradients, workspaces. With ``--device cuda``: peak
  CUDA memory allocated by torch during the phase above what was allocated at its start
  (``torch.cuda.max_memory_allocated``), and times are taken after ``torch.cuda.synchronize()``.
* Agreement: max over the outputs of ``max|out - ref| / max|ref|``, ``ref`` = the same weights and
  input run by the plain algorithm: the released model for the paper clusters, the same model with
  ``use_reference_attention`` for ``cluster_size``. In float32, and in float64 (``--no-fp64`` skips
  it). The sort makes the function discontinuous: where two keys are within float32 rounding of
  each other at a cluster boundary, rounding (flash attention vs materialised softmax, conv
  algorithms) can put a token in the neighbouring cluster, which changes its output by far more
  than the rounding. Float64 removes these near-ties and shows whether the algorithms are equal.
* Guards: the reference's attention maps are estimated before it runs and cases that would not fit
  in the memory available are reported as skipped; a fwd+bwd that would take longer than
  ``--timeout`` (estimated from the forward) is skipped; any subprocess over ``--timeout`` is killed.
"""
import contextlib
import datetime
import functools
import gc
import json
import math
import os
import os.path as osp
import platform
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

from secvit_mm.errors import UsageError
from secvit_mm.utils.benchmarking import (ALLOCATORS, RESULT_TAG, available_memory_bytes, peak_memory,  # noqa: F401
                                          run_subprocess, timed)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BACKBONES = ('reference', 'secvit_paper', 'secvit_cs98', 'swin_t')
DETECTORS = ('maskrcnn_secvit', 'maskrcnn_swin')
VARIANTS = ('compile', 'bf16', 'fp16', 'cp')
FULL_SIZES = ('224x224x8', '512x512', '800x1216', '1600x2432')
QUICK_SIZES = ('224x224x8', '512x512')
# --gpu: the detection-resolution set of tools/device_check.sh, forward + backward at 800x1333, batch 2.
GPU_SIZE = '800x1333x2'
GPU_CASES = tuple(f'{c}{p}' for p in ('', '+fp16', '+bf16') for c in BACKBONES)
SWIN_T = dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7)


@functools.lru_cache(maxsize=1)
def secvit_tiny():
    """This package's SecViT-T with its defaults: the arch numbers (clusters per stage, heads, depths)
    are read from it, not typed here."""
    from secvit_mm.models.backbones import SecViT
    return SecViT('tiny')


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------
def parse_size(text: str) -> Tuple[int, int, int]:
    """'800x1216' -> (1, 800, 1216); '224x224x8' -> (8, 224, 224)."""
    try:
        parts = [int(p) for p in text.lower().split('x')]
    except ValueError:
        parts = []
    if len(parts) == 2:
        return 1, parts[0], parts[1]
    if len(parts) == 3:
        return parts[2], parts[0], parts[1]
    raise UsageError(f'size must be HxW or HxWxBATCH, got {text!r}')


def split_case(case: str) -> Tuple[str, Tuple[str, ...]]:
    base, *variants = case.split('+')
    for v in variants:
        if v not in VARIANTS:
            raise UsageError(f'unknown variant +{v} in {case!r}; choose from {VARIANTS}')
    if base not in BACKBONES + DETECTORS + ('maskrcnn_secvit_cs98', ):
        raise UsageError(f'unknown case {base!r}; choose from {BACKBONES + DETECTORS}')
    return base, tuple(variants)


def secvit_weights(seed: int = 0):
    """SecViT-T backbone weights converted from a seeded released-layout model (so both agree)."""
    import torch
    from secvit_mm.models.converters import convert_secvit_checkpoint
    from secvit_mm.testing.released_secvit import ReleasedSecViT
    torch.manual_seed(seed)
    released = ReleasedSecViT.from_arch('tiny')
    converted = convert_secvit_checkpoint(released.state_dict())
    return {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}, released


def build_backbone(base: str, variants: Tuple[str, ...]):
    """(model, forward) where forward(x) returns the four stage maps."""
    import torch
    if base == 'reference':
        _, released = secvit_weights()
        return released, released.forward_features
    if base == 'swin_t':
        from mmdet.models.backbones import SwinTransformer
        torch.manual_seed(0)
        model = SwinTransformer(**SWIN_T, drop_path_rate=0., out_indices=(0, 1, 2, 3), with_cp='cp' in variants)
        model.init_weights()
        return model, model
    from secvit_mm.models.backbones import SecViT
    paper = tuple(secvit_tiny().num_clusters)
    clusters = dict(num_clusters=paper) if base == 'secvit_paper' else dict(cluster_size=98)
    model = SecViT('tiny', drop_path_rate=0., with_cp='cp' in variants, **clusters)
    weights, _ = secvit_weights()
    model.load_state_dict(weights)
    return model, model


def reference_attention_bytes(batch: int, height: int, width: int, train: bool) -> int:
    """Bytes of the attention maps the plain released SecViT-T holds (float32), its heads, depths and
    paper clusters read from :func:`secvit_tiny`."""
    model = secvit_tiny()
    heads, depths = model.arch_settings['num_heads'], model.arch_settings['depths']
    h, w = math.ceil(height / 4), math.ceil(width / 4)
    per_block = []
    for i, clusters in enumerate(model.num_clusters):
        n = h * w
        length = n // (clusters or 1)
        per_block.append((batch * heads[i] * n * length * 4, depths[i]))
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    largest = max(b for b, _ in per_block)
    if not train:
        return 2 * largest  # logits and probabilities
    return sum(b * d for b, d in per_block) + 2 * largest  # saved probabilities + the transient ones


def max_relative_difference(outs, refs) -> Tuple[float, float]:
    """(max over outputs of max|out - ref| / max|ref|, fraction of elements whose difference exceeds
    1e-4 * max|ref| of their output)."""
    worst, over, total = 0., 0, 0
    for out, ref in zip(outs, refs):
        out, ref = out.double(), ref.double()
        scale = ref.abs().max().clamp_min(1e-30)
        diff = (out - ref).abs()
        worst = max(worst, (diff.max() / scale).item())
        over += int((diff > 1e-4 * scale).sum())
        total += diff.numel()
    return worst, over / max(total, 1)


# ----------------------------------------------------------------------------------------------
# Worker (one phase of one case in a fresh process)
# ----------------------------------------------------------------------------------------------
def _autocast(variants, device: str = 'cpu'):
    import torch
    if 'bf16' in variants:
        return torch.autocast(device, dtype=torch.bfloat16)
    if 'fp16' in variants:
        return torch.autocast(device, dtype=torch.float16)
    return contextlib.nullcontext()


def worker(spec: dict) -> dict:
    import torch
    torch.set_num_threads(spec['threads'])
    base, variants = split_case(spec['case'])
    if base.startswith('maskrcnn'):
        return detector_worker(spec, base, variants)
    device = spec.get('device', 'cpu')
    batch, height, width = parse_size(spec['size'])
    model, forward = build_backbone(base, variants)
    model.to(device)
    if 'compile' in variants:
        forward = torch.compile(model)
    x = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(1)).to(device)
    result = {}
    if spec['phase'] == 'fwd':
        model.eval()
        memory = peak_memory(device)
        with torch.no_grad(), _autocast(variants, device):
            t = timed(lambda: forward(x), spec['warmup'], spec['repeats'], spec['budget'], device)
        result.update(fwd_s=t['best'], fwd_runs=t['runs'], fwd_first_s=t['first'], fwd_peak_mb=memory.peak_mb(),
                      memory_method=memory.method)
        if spec['check'] and base != 'swin_t' and base != 'reference':
            result.update(check_agreement(model, forward, base, variants, x, spec))
    else:
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]

        def step():
            with _autocast(variants, device):
                outs = forward(x)
                loss = sum(o.float().mean() for o in outs)
            loss.backward()
            for p in params:
                p.grad = None

        memory = peak_memory(device)
        t = timed(step, spec['warmup'], spec['repeats'], spec['budget'], device)
        result.update(train_s=t['best'], train_runs=t['runs'], train_first_s=t['first'],
                      train_peak_mb=memory.peak_mb(), memory_method=memory.method)
    return result


def check_agreement(model, forward, base, variants, x, spec) -> dict:
    """Max relative difference to the plain algorithm (float32, and float64 unless disabled)."""
    import torch
    from secvit_mm.testing import use_reference_attention
    batch, height, width = x.shape[0], x.shape[2], x.shape[3]
    out = {}
    if base == 'secvit_paper':
        if reference_attention_bytes(batch, height, width, False) > 0.7 * available_memory_bytes(x.device.type):
            return dict(check='skipped (reference attention maps do not fit in memory)')
        _, reference = secvit_weights()
        reference.to(x.device).eval()
        run_reference = reference.forward_features
    else:
        reference = model

        def run_reference(inp):
            with use_reference_attention(model):
                return model(inp)

    with torch.no_grad():
        with _autocast(variants, x.device.type):
            got = [o.float() for o in forward(x)]
        want = run_reference(x)
        out['max_rel_diff_fp32'], out['frac_over_1e-4_fp32'] = max_relative_difference(got, want)
        del want
        if spec['fp64'] and 'compile' not in variants and 'bf16' not in variants and 'fp16' not in variants:
            model.double()
            reference.double()
            x64 = x.double()
            got = model(x64)
            want = run_reference(x64)
            out['max_rel_diff_fp64'], _ = max_relative_difference(got, want)
    return out


def detector_worker(spec: dict, base: str, variants: Tuple[str, ...]) -> dict:
    import torch
    from mmdet.testing import demo_mm_inputs
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from secvit_mm.apis import build_model

    if base.startswith('maskrcnn_secvit'):
        text = (f"_base_ = '{ROOT}/configs/mask_rcnn_secvit_t_1x.py'\n"
                'model = dict(backbone=dict(init_cfg=None))\n')
        if base == 'maskrcnn_secvit_cs98':
            text += 'model.update(backbone=dict(init_cfg=None, cluster_size=98))\n'
        if 'cp' in variants:
            text += 'model.update(backbone=dict(init_cfg=None, with_cp=True))\n'
    else:
        text = ("_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'\n"
                'model = dict(backbone=dict(init_cfg=None))\n')
        if 'cp' in variants:
            text += 'model.update(backbone=dict(init_cfg=None, with_cp=True))\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'benchmark_cfg.py')
        with open(path, 'w') as f:
            f.write(text)
        cfg = Config.fromfile(path)
    device = spec.get('device', 'cpu')
    torch.manual_seed(0)
    model = build_model(cfg)  # random init: no ImageNet checkpoint
    model.to(device)
    model.train()
    if 'compile' in variants:
        model.backbone = torch.compile(model.backbone)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch, height, width = parse_size(spec['size'])
    if spec.get('det_batch'):
        batch = spec['det_batch']
    data = demo_mm_inputs(batch_size=batch, image_shapes=[(3, height, width)] * batch, num_items=[5] * batch,
                          num_classes=80, with_mask=True)

    def step():
        torch.manual_seed(0)  # same proposals sampled every step
        with _autocast(variants, device):
            model.train_step(data, optim_wrapper)

    memory = peak_memory(device)
    t = timed(step, spec['warmup'], spec['repeats'], spec['budget'], device)
    return dict(train_s=t['best'], train_runs=t['runs'], train_first_s=t['first'], train_peak_mb=memory.peak_mb(),
                memory_method=memory.method, det_batch=batch)


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------
def run_inline(spec: dict) -> dict:
    """One phase in this process (``--in-process``): on a GPU the peak-memory counter is reset per
    phase, so separate processes are not needed, and each would pay torch's import and CUDA start."""
    import torch
    try:
        return worker(spec)
    except torch.cuda.OutOfMemoryError:
        return dict(skipped='out of GPU memory')
    except Exception as e:  # a broken case is reported in its row, the others still run
        return dict(error=f'{type(e).__name__}: {e}'.splitlines()[0][:300])
    finally:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def plan(args) -> List[dict]:
    jobs = []
    for case in args.cases:
        for size in args.sizes:
            jobs.append(dict(case=case, size=size))
    for case in args.detectors:
        jobs.append(dict(case=case, size=args.det_size))
    return jobs


def fmt(value, digits=2, unit=''):
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.{digits}f}{unit}'
    return str(value)


def fmt_diff(value, frac=None) -> str:
    if value is None:
        return '-'
    text = f'{value:.1e}'
    if frac:
        text += f' ({100 * frac:.3g}% > 1e-4)'
    return text


def table(results: List[dict], meta: dict) -> str:
    if meta.get('device') == 'cuda':
        head = (f"GPU {meta['cpu']}, torch {meta['torch']}; time = best of {meta['repeats']} after {meta['warmup']} "
                f"warm-up (x {meta['rounds']} rounds), synchronised; peak MB = peak CUDA memory allocated during the "
                "phase above the allocation at its start (torch.cuda.max_memory_allocated, one process); rel diff = "
                'max|out-ref|/max|ref| vs the plain algorithm with the same weights.')
    else:
        head = (f"CPU {meta['cpu']}, {meta['threads']} threads, torch {meta['torch']}, glibc malloc "
                f"'{meta.get('allocator', 'default')}'; time = best of "
                f"{meta['repeats']} after {meta['warmup']} warm-up (x {meta['rounds']} rounds); peak MB = peak RSS of the "
                f"phase above the RSS after model build ({meta['memory_method']}, fresh process per case and phase); "
                'rel diff = max|out-ref|/max|ref| vs the plain algorithm with the same weights.')
    lines = [
        head,
        '',
        '| case | input | fwd s | fwd peak MB | fwd+bwd s | fwd+bwd peak MB | rel diff fp32 | rel diff fp64 | note |',
        '|---|---|---:|---:|---:|---:|---:|---:|---|',
    ]
    for r in results:
        note = '; '.join(n for n in (r.get('note'), ) if n)
        lines.append(
            f"| {r['case']} | {r['size']} | {fmt(r.get('fwd_s'))} | {fmt(r.get('fwd_peak_mb'), 0)} | "
            f"{fmt(r.get('train_s'))} | {fmt(r.get('train_peak_mb'), 0)} | {fmt_diff(r.get('max_rel_diff_fp32'), r.get('frac_over_1e-4_fp32'))} | "
            f"{fmt_diff(r.get('max_rel_diff_fp64'))} | {note} |")
    return '\n'.join(lines)


def find(results, case, size) -> Optional[dict]:
    for r in results:
        if r['case'] == case and r['size'] == size:
            return r
    return None


#: The targets, one row each: (device, name, numerator, denominator, limit, better, detail). A value is
#: numerator / denominator (just the numerator when there is none), each a (case, size, result key);
#: ``{det}`` is the detector input, ``{p}`` / ``{label}`` a GPU precision; detail formats ``a`` / ``b``.
TARGETS = (
    ('cpu', '800x1216 paper fwd speed-up vs reference', ('reference', '800x1216', 'fwd_s'),
     ('secvit_paper', '800x1216', 'fwd_s'), 1.5, 'higher', '{a:.2f} s / {b:.2f} s'),
    ('cpu', '800x1216 paper fwd peak memory / reference', ('secvit_paper', '800x1216', 'fwd_peak_mb'),
     ('reference', '800x1216', 'fwd_peak_mb'), 0.6, 'lower', '{a:.0f} MB / {b:.0f} MB'),
    ('cpu', '800x1216 paper max rel diff (fp32)', ('secvit_paper', '800x1216', 'max_rel_diff_fp32'), None,
     1e-4, 'lower', 'vs the released model'),
    ('cpu', '800x1216 paper max rel diff (fp64)', ('secvit_paper', '800x1216', 'max_rel_diff_fp64'), None,
     1e-4, 'lower', 'vs the released model'),
    ('cpu', '800x1216 cluster_size=98 fwd time / Swin-T', ('secvit_cs98', '800x1216', 'fwd_s'),
     ('swin_t', '800x1216', 'fwd_s'), 1.0, 'lower', '{a:.2f} s / {b:.2f} s'),
    ('cpu', 'cluster_size=98 fwd 1600x2432 / 800x1216', ('secvit_cs98', '1600x2432', 'fwd_s'),
     ('secvit_cs98', '800x1216', 'fwd_s'), 4.4, 'lower', '{a:.2f} s / {b:.2f} s'),
    ('cpu', 'Mask R-CNN {det}: SecViT-T / Swin-T', ('maskrcnn_secvit', '{det}', 'train_s'),
     ('maskrcnn_swin', '{det}', 'train_s'), 1.0, 'lower', '{a:.2f} s / {b:.2f} s'),
    ('cpu', '224x224 batch 8 paper fwd speed-up vs reference', ('reference', '224x224x8', 'fwd_s'),
     ('secvit_paper', '224x224x8', 'fwd_s'), 1.2, 'higher', '{a:.3f} s / {b:.3f} s'),
    ('gpu', '{size} {label}: paper fwd+bwd speed-up vs released', ('reference{p}', '{size}', 'train_s'),
     ('secvit_paper{p}', '{size}', 'train_s'), 2.0, 'higher', '{ms_a:.0f} ms / {ms_b:.0f} ms'),
    ('gpu', '{size} {label}: paper fwd+bwd peak memory / released', ('secvit_paper{p}', '{size}', 'train_peak_mb'),
     ('reference{p}', '{size}', 'train_peak_mb'), 0.5, 'lower', '{a:.0f} MB / {b:.0f} MB'),
    ('gpu', '{size} {label}: cluster_size=98 fwd+bwd time / Swin-T', ('secvit_cs98{p}', '{size}', 'train_s'),
     ('swin_t{p}', '{size}', 'train_s'), 1.0, 'lower', '{ms_a:.0f} ms / {ms_b:.0f} ms'),
    ('gpu', 'Mask R-CNN {det}: SecViT-T / Swin-T', ('maskrcnn_secvit', '{det}', 'train_s'),
     ('maskrcnn_swin', '{det}', 'train_s'), 1.0, 'lower', '{ms_a:.0f} ms / {ms_b:.0f} ms'),
)
GPU_PRECISIONS = (('', 'fp32'), ('+fp16', 'fp16 autocast'), ('+bf16', 'bf16 autocast'))


def _check(name, value, limit, better, detail) -> dict:
    ok = value >= limit if better == 'higher' else value <= limit
    return dict(target=name, value=round(value, 3), limit=limit, ok=bool(ok), detail=detail)


def evaluate_targets(results: List[dict], device: str, det_size: str) -> List[dict]:
    """The rows of :data:`TARGETS` for ``device`` that this run measured, each judged.

    Args:
        results (list[dict]): the result rows (``case``, ``size`` and the measured keys).
        device (str): ``'cpu'`` or ``'cuda'``.
        det_size (str): the detector rows' size label, e.g. ``'512x512 b2 train step'``.

    Returns:
        list[dict]: ``target``, ``value``, ``limit``, ``ok``, ``detail`` per evaluated target.
    """
    kind = 'gpu' if device == 'cuda' else 'cpu'
    rows = [r for r in TARGETS if r[0] == kind]
    # GPU: every precision's rows in turn, the detector after them (they are measured in fp32 only).
    expanded = [(row, dict(p=p, label=label)) for p, label in (GPU_PRECISIONS if kind == 'gpu' else (('', ''), ))
                for row in rows if '{p}' in row[2][0] or kind == 'cpu']
    expanded += [(row, dict(p='', label='')) for row in rows if kind == 'gpu' and '{p}' not in row[2][0]]
    checks = []
    for (_, name, num, den, limit, better, detail), names in expanded:
        names = dict(names, det=det_size, size=GPU_SIZE)

        def get(spec):
            case, size, key = (part.format(**names) for part in spec)
            row = find(results, case, size)
            return None if row is None else row.get(key)

        a = get(num)
        b = get(den) if den else None
        if den and not (a and b) or not den and a is None:
            continue
        text = detail.format(a=a, b=b, ms_a=a * 1e3, ms_b=(b or 0) * 1e3)
        checks.append(_check(name.format(**names), a / b if den else a, limit, better, text))
    return checks


def targets(results: List[dict], det_size: str) -> List[dict]:
    """The CPU targets (:data:`TARGETS`) this run measured."""
    return evaluate_targets(results, 'cpu', det_size)


def gpu_targets(results: List[dict], det_size: str) -> List[dict]:
    """The GPU targets at detection resolution (fwd+bwd, each precision measured): the paper mode at
    least 2x faster than the plain released algorithm with at most half its peak memory, and
    ``cluster_size=98`` no slower than Swin-T."""
    return evaluate_targets(results, 'cuda', det_size)


def run(args, script: str, argv: Optional[List[str]] = None) -> int:
    """Measure what ``args`` asks for, print the table and the targets, write ``--out``.

    Args:
        args (argparse.Namespace): the parsed command line of ``tools/benchmark.py``.
        script (str): the script a fresh worker process runs (``SCRIPT --worker SPEC``).
        argv (list[str], optional): the command line, recorded in the results. Defaults to
            ``sys.argv[1:]``.

    Returns:
        int: the exit code (2 when ``--device cuda`` finds no GPU).
    """
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False)', file=sys.stderr)
        return 2
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((l.split(':', 1)[1].strip() for l in f if l.startswith('model name')), cpu)
    except OSError:
        pass
    if args.device == 'cuda':
        cpu = f'{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})'
    meta = dict(date=datetime.datetime.now().isoformat(timespec='seconds'), torch=torch.__version__, cpu=cpu,
                device=args.device,
                threads=args.threads, allocator=args.allocator, repeats=args.repeats, warmup=args.warmup,
                budget=args.budget, rounds=args.rounds,
                command='python tools/benchmark.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
                memory_method='VmHWM')
    rows: Dict[Tuple[str, str], dict] = {}
    skipped = set()
    for round_index in range(args.rounds):
        for job in plan(args):
            base, variants = split_case(job['case'])
            batch, height, width = parse_size(job['size'])
            row = rows.setdefault((job['case'], job['size']), dict(case=job['case'], size=job['size'], notes=[]))
            first = round_index == 0
            spec = dict(job, threads=args.threads, allocator=args.allocator, warmup=args.warmup,
                        repeats=args.repeats, budget=args.budget,
                        check=first and not args.no_check,
                        fp64=not args.no_fp64 and batch * height * width <= args.fp64_max_pixels,
                        det_batch=args.det_batch, device=args.device)
            phases = ['train'] if base.startswith('maskrcnn') else ['fwd'] + ([] if args.no_backward else ['train'])
            for phase in phases:
                if (job['case'], job['size'], phase) in skipped:
                    continue
                why = None
                if base == 'reference':
                    need = reference_attention_bytes(batch, height, width, phase == 'train')
                    if need > 0.8 * available_memory_bytes(args.device):
                        why = (f'skipped (its attention maps need ~{need / 2**30:.0f} GB, '
                               f'{available_memory_bytes(args.device) / 2**30:.0f} GB available)')
                if phase == 'train' and row.get('fwd_s') and why is None:
                    estimate = 3.5 * row['fwd_s'] * (args.warmup + 1)
                    if estimate > args.timeout:
                        why = f'skipped (estimated {estimate:.0f} s > --timeout {args.timeout:.0f} s)'
                if why is None:
                    print(f"[benchmark] round {round_index + 1}/{args.rounds}: {job['case']} {job['size']} {phase}",
                          file=sys.stderr, flush=True)
                    if args.in_process:
                        result = run_inline(dict(spec, phase=phase))
                    else:
                        result = run_subprocess(dict(spec, phase=phase), args.timeout, script, ROOT)
                    why = result.get('skipped') or result.get('error')
                if why is not None:
                    row['notes'].append(f"{'fwd+bwd' if phase == 'train' else phase} {why}")
                    skipped.add((job['case'], job['size'], phase))
                    continue
                if result.get('check'):
                    row['notes'].append(f"check {result.pop('check')}")
                if result.get('memory_method'):
                    meta['memory_method'] = result['memory_method']
                for key, value in result.items():
                    if key in ('fwd_s', 'train_s'):
                        row.setdefault(key + '_rounds', []).append(value)
                        row[key] = min(row[key + '_rounds'])
                    elif key not in row:
                        row[key] = value
            print(f"[benchmark] {row}", file=sys.stderr, flush=True)
    results = []
    for (case, size), row in rows.items():
        if case.split('+')[0].startswith('maskrcnn'):
            row['size'] = f'{size} b{args.det_batch} train step'
        if row.get('fwd_runs') == 1 or row.get('train_runs') == 1:
            row['notes'].append('1 timed run per round')
        row['note'] = '; '.join(dict.fromkeys(row.pop('notes')))
        results.append(row)

    det_size = f'{args.det_size} b{args.det_batch} train step'
    checks = evaluate_targets(results, args.device, det_size)
    print(table(results, meta))
    if checks:
        print()
        print('| target | value | limit | holds | measured |')
        print('|---|---:|---:|---|---|')
        for c in checks:
            print(f"| {c['target']} | {c['value']:g} | {c['limit']:g} | {'yes' if c['ok'] else 'NO'} | "
                  f"{c['detail']} |")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(meta=meta, results=results, targets=checks), f, indent=2)
        print(f'\nwritten {args.out}', file=sys.stderr)
    return 0
