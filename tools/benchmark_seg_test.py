"""Time and peak memory of a segmentation config's test-time inference: whole image vs sliding window.

    python tools/benchmark_seg_test.py [CONFIG] [--size H W] [--repeats N] [--out results.json]

For each clustering mode (the paper's clusters; ``cluster_size=98``) and each mmseg test mode
(``whole``: the image in one pass; ``slide``: the config's ``crop_size`` windows at its ``stride``),
a fresh process builds the model at random init and runs ``model.test_step`` on one random image
of the given size (default 512x2048, ADE20K's test size). Seconds: best of ``--repeats`` after one
warm-up; CPU s: process CPU time per pass (all threads), which other load on the machine disturbs
less. Peak MB: peak RSS of the timed phase above the RSS before it (secvit_mm.utils.benchmarking's
PeakMemory). Results for ADE20K: docs/segmentation_test_modes.md.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.utils.benchmarking import RESULT_TAG, PeakMemory, run_subprocess, timed  # noqa: E402

CLUSTER_MODES = {'paper': {}, 'cs98': dict(cluster_size=98)}
TEST_MODES = ('whole', 'slide')


def worker(spec: dict) -> dict:
    import torch
    from mmengine.registry import init_default_scope

    from secvit_mm.apis import build_model
    from secvit_mm.apis.config import load_config
    cfg = load_config(spec['config'])
    init_default_scope('mmseg')
    from mmseg.structures import SegDataSample
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.update(CLUSTER_MODES[spec['clusters']])
    cfg.model.test_cfg.mode = spec['test_mode']
    torch.manual_seed(0)
    model = build_model(cfg)  # random init, eval mode
    h, w = spec['size']
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
    data = dict(inputs=[img], data_samples=[sample])

    def run():
        with torch.no_grad():
            model.test_step(data)

    memory = PeakMemory()
    run()  # warm-up
    cpu_start = time.process_time()
    t = timed(run, warmup=0, repeats=spec['repeats'], budget=600)
    cpu_s = (time.process_time() - cpu_start) / t['runs']  # all threads; steadier than seconds under load
    test_cfg = cfg.model.test_cfg
    return dict(fwd_s=round(t['best'], 2), cpu_s=round(cpu_s, 2), peak_mb=memory.peak_mb(),
                crop_size=list(test_cfg.get('crop_size', [])), stride=list(test_cfg.get('stride', [])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?', default='configs/upernet_secvit_t_160k_ade20k.py')
    parser.add_argument('--size', nargs=2, type=int, default=[512, 2048], metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', 2)))
    parser.add_argument('--out', help='also write the results here as JSON')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(RESULT_TAG + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    results = []
    print(f'{args.config} at {args.size[0]}x{args.size[1]}, {args.threads} threads')
    print('| clusters | test mode | windows | s | CPU s | peak MB |\n|---|---|---|---:|---:|---:|')
    for clusters in CLUSTER_MODES:
        for test_mode in TEST_MODES:
            spec = dict(config=args.config, clusters=clusters, test_mode=test_mode, size=args.size,
                        repeats=args.repeats, threads=args.threads, allocator='default')
            result = dict(clusters=clusters, test_mode=test_mode, **run_subprocess(spec, timeout=1800, script=__file__, cwd=ROOT))
            results.append(result)
            windows = (f"{result['crop_size'][0]}x{result['crop_size'][1]} stride {result['stride'][0]}"
                       if test_mode == 'slide' and 'crop_size' in result else '-')
            print(f"| {'paper (32/8/2)' if clusters == 'paper' else 'cluster_size=98'} | {test_mode} | {windows} | "
                  f"{result.get('fwd_s', result.get('error', result.get('skipped')))} | {result.get('cpu_s', '-')} | "
                  f"{result.get('peak_mb', '-')} |",
                  flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
