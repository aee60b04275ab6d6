"""Speed, memory and output agreement of SecViT against the plain released algorithm and Swin-T.

    python tools/benchmark.py --out benchmark_results/full.json          # everything (~1 h on 2 cores)
    python tools/benchmark.py --quick                                    # 224x224x8 + 512x512, minutes
    python tools/benchmark.py --cases secvit_cs98,swin_t --sizes 800x1216 --repeats 5
    python tools/benchmark.py --cases secvit_paper+compile,secvit_paper+bf16,secvit_paper+cp --sizes 512x512
    python tools/benchmark.py --device cuda --gpu                           # the GPU set (tools/device_check.sh)

The cases, the workers, the method and the targets: :mod:`secvit_mm.utils.benchmark_cases`; this file
is the command line.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import UsageError  # noqa: E402
from secvit_mm.utils.benchmark_cases import (BACKBONES, DETECTORS, FULL_SIZES, GPU_CASES, GPU_SIZE,  # noqa: E402,F401
                                             QUICK_SIZES, gpu_targets, parse_size, run, split_case, targets,
                                             worker)
from secvit_mm.utils.benchmarking import ALLOCATORS, RESULT_TAG  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--cases', default=','.join(BACKBONES),
                        help=f"comma-separated backbones {BACKBONES}, optionally with +compile / +bf16 / +cp, "
                        "or 'none'")
    parser.add_argument('--sizes', default=','.join(FULL_SIZES), help='comma-separated HxW or HxWxBATCH')
    parser.add_argument('--detectors', default=','.join(DETECTORS),
                        help=f"comma-separated {DETECTORS + ('maskrcnn_secvit_cs98', )} (with +cp/+compile), "
                        "or 'none'")
    parser.add_argument('--det-size', default='512x512', help='detector input HxW (default 512x512)')
    parser.add_argument('--det-batch', type=int, default=2, help='images per detector step (default 2)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--budget', type=float, default=60., help='seconds of timed runs per phase (>= 1 run)')
    parser.add_argument('--timeout', type=float, default=1800., help='seconds per subprocess before it is killed')
    parser.add_argument('--no-backward', action='store_true', help='forward only')
    parser.add_argument('--allocator', choices=sorted(ALLOCATORS), default='default',
                        help="glibc malloc settings of the worker processes: 'default', or 'retain' (keep freed "
                        'memory in the heap instead of returning large blocks to the kernel; see the docstring)')
    parser.add_argument('--no-check', action='store_true', help='skip the agreement check')
    parser.add_argument('--no-fp64', action='store_true', help='skip the float64 agreement check')
    parser.add_argument('--fp64-max-pixels', type=int, default=800 * 1216,
                        help='float64 check only up to this many input pixels (batch x H x W); it is slow')
    parser.add_argument('--rounds', type=int, default=1,
                        help='run every case this many times (fresh processes, interleaved) and keep the best '
                        'time: robust to other load on the machine')
    parser.add_argument('--quick', action='store_true',
                        help=f"sizes {','.join(QUICK_SIZES)}, 1 repeat, no float64 check, Mask R-CNN batch 1")
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                        help='where the models run (cuda: peak memory is torch.cuda.max_memory_allocated)')
    parser.add_argument('--gpu', action='store_true',
                        help=f'the GPU set: {GPU_SIZE} fwd+bwd of {",".join(BACKBONES)} in fp32 / fp16 / bf16 '
                        'autocast and one Mask R-CNN 800x1333 batch-2 step of SecViT-T and Swin-T, in process, '
                        'no float64 check')
    parser.add_argument('--in-process', action='store_true',
                        help='run every phase in this process (default with --device cuda; the CPU figures need '
                        'fresh processes for their RSS peaks)')
    parser.add_argument('--out', help='write the results as JSON here (e.g. benchmark_results/full.json)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.gpu:
        args.device, args.cases, args.sizes = 'cuda', ','.join(GPU_CASES), GPU_SIZE
        args.det_size, args.det_batch, args.no_fp64 = '800x1333', 2, True
    if args.device == 'cuda':
        args.in_process = True
    args.cases = [] if args.cases in ('', 'none') else [c for c in args.cases.split(',') if c]
    args.detectors = [] if args.detectors in ('', 'none') else [d for d in args.detectors.split(',') if d]
    if args.quick:
        if args.sizes == ','.join(FULL_SIZES):
            args.sizes = ','.join(QUICK_SIZES)
        args.repeats, args.no_fp64, args.det_batch = 1, True, 1
    args.sizes = [s for s in args.sizes.split(',') if s]
    try:
        for case in args.cases + args.detectors:
            split_case(case)
        for size in args.sizes + [args.det_size]:
            parse_size(size)
    except UsageError as e:
        parser.error(str(e))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:  # one phase of one case, in the fresh process run_subprocess started
        print(RESULT_TAG + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    return run(args, __file__, argv)


if __name__ == '__main__':
    sys.exit(run_cli(main))
