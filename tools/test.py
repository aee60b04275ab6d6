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
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis.runner import prepare_run  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402


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


def main(argv=None) -> None:
    with prepare_run(parse_args(argv), 'test') as runner:
        runner.test()


if __name__ == '__main__':
    sys.exit(run_cli(main))
