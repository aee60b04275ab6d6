"""Evaluate a checkpoint of any secvit-mm config (MMDetection, MMSegmentation or MMPretrain).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out RESULTS.pkl [--overwrite]]
        [--show-dir DIR] [--tta] [--non-strict] [--skip-data-check] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

The checkpoint must fit the model (a table of missing / unexpected keys otherwise; --non-strict to
allow), the test data passes the fast data checks, and --out never replaces a file silently.
The evaluation writes into WORK_DIR/test/ (locked while it runs), never over a training run's
files in WORK_DIR; --show-dir must lie outside the test data.

CHECKPOINT may be ``random`` to evaluate the untrained model (a baseline for the demo). ``--tta`` tests
with the config's ``tta_pipeline`` (flips and scales) and merges the views with its ``tta_model``.
"""
import argparse
import os
from contextlib import nullcontext
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from mmengine.config import Config, DictAction  # noqa: E402

from secvit_mm.apis.launch import (build_runner, check_checkpoint_fits,  # noqa: E402
                                   check_data_paths, check_dataloader_keys, check_neck_channels,
                                   config_scope, default_work_dir, enable_tta, innermost_dataset,
                                   load_config, run_cli, work_dir_lock)
from secvit_mm.apis.option_checks import check_dataloader_values, check_launcher_env  # noqa: E402
from secvit_mm.apis.outputs import (atomic_output, check_output_dir, check_outputs_apart,  # noqa: E402
                                    input_folders)
from secvit_mm.datasets.checks import enforce_data_checks  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file, or 'random' for an untrained model")
    parser.add_argument('--work-dir', help='the evaluation log goes to its test/ subfolder '
                        '(default ./work_dirs/CONFIG_NAME/test)')
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
    """Draw the predictions into ``show_dir``: detection and segmentation with
    :class:`~secvit_mm.apis.show_dir.DrawPredictionsHook` (one drawing per image, named after its
    path in the image folder), classification with mmpretrain's visualization hook."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError("--show-dir needs a 'visualization' entry in default_hooks")
    if config_scope(cfg) in ('mmdet', 'mmseg'):
        from secvit_mm.apis import show_dir as _  # noqa: F401  (registers DrawPredictionsHook)
        dataset = innermost_dataset(cfg.test_dataloader.dataset)
        prefix = dataset.get('data_prefix') or {}
        img_root = osp.join(dataset.get('data_root') or '', prefix.get('img') or prefix.get('img_path') or '')
        draw = dict(type='DrawPredictionsHook', out_dir=osp.abspath(show_dir), img_root=img_root or None)
        if 'score_thr' in hook:
            draw['score_thr'] = hook['score_thr']
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [draw]
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


TEST_SUBDIR = 'test'


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    check_launcher_env(args.launcher)
    check_output_dir(work_dir, '--work-dir')
    # Its own subfolder: the Runner writes its config copy (and logs) into its work dir, which
    # would replace those of a training run in the same work dir, live or finished.
    cfg.work_dir = osp.join(work_dir, TEST_SUBDIR)
    if args.show_dir:
        check_output_dir(args.show_dir, '--show-dir')
        # Drawings are named after their images: in the image folder they would replace them.
        check_outputs_apart([args.show_dir], input_folders(cfg, 'test'), '--show-dir', args.show_dir)
    if args.checkpoint == 'random':
        cfg.load_from = None
    else:
        if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint!r}')
        cfg.load_from = args.checkpoint
    check_data_paths(cfg, ('test', ))
    check_dataloader_keys(cfg, ('test', ))
    check_dataloader_values(cfg, ('test', ))
    check_neck_channels(cfg)
    if not args.skip_data_check:
        enforce_data_checks(cfg, ('test', ), 'tools/test.py')
    if args.tta:
        enable_tta(cfg)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        check_outputs_apart([args.out], [args.config, args.checkpoint], '--out', args.out)
        add_dump(cfg, args.out, args.overwrite)
    # --out appears only once complete: a killed run leaves an earlier file whole.
    with work_dir_lock(cfg.work_dir), (atomic_output(args.out) if args.out else nullcontext()) as out_tmp:
        if out_tmp:
            cfg.test_evaluator[-1]['out_file_path'] = out_tmp
        runner = build_runner(cfg)
        if cfg.load_from and not args.non_strict and '://' not in cfg.load_from:
            check_checkpoint_fits(runner.model, cfg.load_from, 'test',
                                  ', or pass --non-strict to evaluate it anyway')
        runner.test()


if __name__ == '__main__':
    sys.exit(run_cli(main))
