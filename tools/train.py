"""Train any secvit-mm config (MMDetection, MMSegmentation or MMPretrain) with the upstream flags.

    python tools/train.py configs/mask_rcnn_secvit_t_1x.py [--work-dir DIR] [--amp] [--auto-scale-lr]
        [--resume [auto|PATH]] [--skip-data-check] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

Before the run: the fast data checks (secvit_mm.datasets.checks; refused with a table when a split
would lose every object, every object of a class or most images), a lock on the work dir (a
second run into it is refused) and, for --resume, a check that the checkpoint fits the model and
that the run is not already finished. During training GroundTruthGuardHook stops a run whose
epoch had no ground truth. docs/robustness.md lists every case.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis.launch import (build_runner, check_checkpoint_fits,  # noqa: E402
                                   check_checkpoint_paths, check_data_paths, check_dataloader_keys,
                                   check_head_classes,
                                   check_neck_channels, check_resume,
                                   clean_stale_tmp, default_work_dir, enable_amp,
                                   enable_auto_scale_lr, load_config, refuse_to_overwrite,
                                   resume_checkpoint, run_cli, work_dir_lock)
from secvit_mm.datasets.checks import enforce_data_checks  # noqa: E402
from secvit_mm.utils import guard_file_loading  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector / segmentor / classifier')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from PATH, or from the latest checkpoint in the work dir if no PATH')
    parser.add_argument('--skip-data-check', action='store_true',
                        help='run even if the data checks find that the data would waste the run')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. train_dataloader.batch_size=4)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint not found: {args.resume!r}')
        cfg.resume, cfg.load_from = True, args.resume
    splits = ('train', 'val') if cfg.get('val_cfg') else ('train', )
    check_data_paths(cfg, splits)
    check_dataloader_keys(cfg, splits)
    check_neck_channels(cfg)
    check_head_classes(cfg, splits)
    if not cfg.get('resume'):
        check_checkpoint_paths(cfg)
    if not args.skip_data_check:
        enforce_data_checks(cfg, splits, 'tools/train.py')
    # Also with --skip-data-check: it only stops an epoch that had no ground truth at all.
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'GroundTruthGuardHook' for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='GroundTruthGuardHook')]
    guard_file_loading(cfg, splits)
    with work_dir_lock(cfg.work_dir):
        refuse_to_overwrite(cfg.work_dir, bool(cfg.get('resume')))
        clean_stale_tmp(cfg.work_dir)
        resume_from = resume_checkpoint(cfg.work_dir, args.resume) if args.resume else None
        runner = build_runner(cfg)
        if resume_from:
            # Before Runner.resume touches any optimiser state.
            checkpoint = check_checkpoint_fits(runner.model, resume_from, 'resume',
                                               ', or start a new run with another --work-dir')
            check_resume(cfg, checkpoint, resume_from)
            del checkpoint
        runner.train()


if __name__ == '__main__':
    sys.exit(run_cli(main))
