"""Evaluate a checkpoint of any secvit-mm config (MMDetection, MMSegmentation or MMPretrain).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out RESULTS.pkl [--overwrite]]
        [--show-dir DIR] [--tta] [--non-strict] [--skip-data-check] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

The checkpoint must fit the model (a table of missing / unexpected keys otherwise; --non-strict to
allow), the test data passes the fast data checks, and --out never replaces a file silently.

CHECKPOINT may be ``random`` to evaluate the untrained model (a baseline for the demo). ``--tta`` tests
with the config's ``tta_pipeline`` (flips and scales) and merges the views with its ``tta_model``.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from mmengine.config import Config, DictAction  # noqa: E402

from secvit_mm.apis.launch import (build_runner, check_checkpoint_fits,  # noqa: E402
                                   check_data_paths, check_dataloader_keys, check_head_classes,
                                   check_neck_channels,
                                   config_scope, default_work_dir, enable_tta, load_config,
                                   run_cli)
from secvit_mm.datasets.checks import enforce_data_checks  # noqa: E402
from secvit_mm.utils import guard_file_loading  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file, or 'random' for an untrained model")
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--overwrite', action='store_true', help='let --out replace an existing file')
    parser.add_argument('--non-strict', action='store_true',
                        help='evaluate even if the checkpoint has missing / unexpected keys')
    parser.add_argument('--skip-data-check', action='store_true',
                        help='evaluate even if the data checks find problems')
    parser.add_argument('--show-dir', help='save pictures of the predictions in this directory')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_pipeline and tta_model")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """Turn on the scope's visualization hook, writing pictures into ``show_dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError("--show-dir needs a 'visualization' entry in default_hooks")
    scope = config_scope(cfg)
    if scope == 'mmdet':
        hook.update(draw=True, test_out_dir=osp.abspath(show_dir))
    elif scope == 'mmseg':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir
    else:
        hook.update(enable=True, out_dir=osp.abspath(show_dir))


def add_dump(cfg: Config, out: str, overwrite: bool = False) -> None:
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl/.pickle file, got {out!r}')
    if osp.exists(out) and not overwrite:
        raise FileExistsError(f'--out {out!r} exists; pass --overwrite to replace it, or choose '
                              'another file')
    dump = dict(type='DumpDetResults' if config_scope(cfg) == 'mmdet' else 'mmengine.DumpResults',
                out_file_path=out)
    evaluator = cfg.test_evaluator
    cfg.test_evaluator = list(evaluator) + [dump] if isinstance(evaluator, (list, tuple)) else [evaluator, dump]


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    if args.checkpoint == 'random':
        cfg.load_from = None
    else:
        if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint!r}')
        cfg.load_from = args.checkpoint
    check_data_paths(cfg, ('test', ))
    check_dataloader_keys(cfg, ('test', ))
    check_neck_channels(cfg)
    check_head_classes(cfg, ('test', ))
    if not args.skip_data_check:
        enforce_data_checks(cfg, ('test', ), 'tools/test.py')
    if args.tta:
        enable_tta(cfg)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        add_dump(cfg, args.out, args.overwrite)
    guard_file_loading(cfg, ('test', ))
    runner = build_runner(cfg)
    if cfg.load_from and not args.non_strict and '://' not in cfg.load_from:
        check_checkpoint_fits(runner.model, cfg.load_from, 'test',
                              ', or pass --non-strict to evaluate it anyway')
    runner.test()


if __name__ == '__main__':
    sys.exit(run_cli(main))
