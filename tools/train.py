"""Train any secvit-mm config (MMDetection, MMSegmentation or MMPretrain) with the upstream flags.

    python tools/train.py configs/mask_rcnn_secvit_t_1x.py [--work-dir DIR] [--amp] [--auto-scale-lr]
        [--resume [auto|PATH]] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis.launch import (build_runner, check_checkpoint_paths,  # noqa: E402
                                   check_data_paths, default_work_dir, enable_amp,
                                   enable_auto_scale_lr, load_config, refuse_to_overwrite)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector / segmentor / classifier')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from PATH, or from the latest checkpoint in the work dir if no PATH')
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
    check_data_paths(cfg, ('train', 'val') if cfg.get('val_cfg') else ('train', ))
    if not cfg.get('resume'):
        check_checkpoint_paths(cfg)
    refuse_to_overwrite(cfg.work_dir, bool(cfg.get('resume')))
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
