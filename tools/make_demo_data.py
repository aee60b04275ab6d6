"""Generate the small synthetic datasets used by the README demo and the tests.

    python tools/make_demo_data.py [--out data/demo] [--which {coco,ade,crops,all}]
                                   [--num-train N] [--num-val N] [--seed S] [--force]

Writes ``<out>/coco`` (mmdet ``coco_instance.py`` layout) and/or
``<out>/ade/ADEChallengeData2016`` (mmseg ``ade20k.py`` layout) and/or ``<out>/shape_crops`` (one
folder per shape class, for pretraining the demo backbone as a classifier). A dataset that is already
complete is skipped; anything else in the way is only replaced with ``--force``, which moves it
aside to ``<root>.replaced-<time>`` (and says so) instead of deleting it.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.datasets.demo_data import make_ade20k_demo, make_coco_instance_demo, make_shape_crops_demo  # noqa: E402,E501
from secvit_mm.errors import SecvitError  # noqa: E402

DEFAULT_SIZES = {'coco': (256, 16), 'ade': (32, 8), 'crops': (1024, 128)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/demo',
                        help='output directory (default: %(default)s)')
    parser.add_argument('--which', choices=('coco', 'ade', 'crops', 'all'), default='all',
                        help='which dataset(s) to make (default: %(default)s)')
    parser.add_argument('--num-train', type=int, default=None,
                        help='training images per dataset (default: 256 coco, 32 ade, 1024 crops)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='validation images per dataset (default: 16 coco, 8 ade, 128 crops)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: %(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='replace existing data at the target paths (moved aside, not deleted)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the requested datasets and print one summary line each; returns the exit code."""
    args = parse_args(argv)
    jobs = {
        'coco': (make_coco_instance_demo, osp.join(args.out, 'coco')),
        'ade': (make_ade20k_demo, osp.join(args.out, 'ade', 'ADEChallengeData2016')),
        'crops': (make_shape_crops_demo, osp.join(args.out, 'shape_crops')),
    }
    names = list(jobs) if args.which == 'all' else [args.which]
    status = 0
    for name in names:
        make, root = jobs[name]
        num_train = args.num_train if args.num_train is not None else DEFAULT_SIZES[name][0]
        num_val = args.num_val if args.num_val is not None else DEFAULT_SIZES[name][1]
        try:
            summary = make(root, num_train=num_train, num_val=num_val, seed=args.seed,
                           force=args.force)
        except SecvitError as err:  # one refused dataset does not stop the others
            print(f'{name}: {err}', file=sys.stderr)
            status = 1
            continue
        print(summary.line())
    return status


if __name__ == '__main__':
    sys.exit(run_cli(main))
