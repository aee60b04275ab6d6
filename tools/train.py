"""Train any secvit-mm config (MMDetection, MMSegmentation or MMPretrain) with the upstream flags.

    python tools/train.py configs/mask_rcnn_secvit_t_1x.py [--work-dir DIR] [--amp] [--auto-scale-lr]
        [--resume [auto|PATH]] [--skip-data-check] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

Before the run (secvit_mm.apis.runner.prepare_run): the fast data checks (secvit_mm.checks.data; refused with a table when a split
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

from secvit_mm.apis.runner import prepare_run  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402


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
    with prepare_run(parse_args(argv), 'train') as runner:
        runner.train()


if __name__ == '__main__':
    sys.exit(run_cli(main))
