"""Check the datasets of a detection or segmentation config the way its dataset and pipeline read them.

    python tools/check_data.py CONFIG [--split train|val|test|all] [--fix-report OUT.json]
        [--cfg-options k=v ...]

Prints a table of problems per split (counts, first file names, how to fix) and exits 1 when a
run on this data would be wasted (any problem of severity ``error``). The checks and their
thresholds: docs/robustness.md ("Data checks").
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)

from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis.config import load_config  # noqa: E402
from secvit_mm.checks.data import check_datasets, format_reports, has_errors, write_fix_report  # noqa: E402
from secvit_mm.checks.preflight import check_data_paths  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check the datasets of a config before a run')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', choices=SPLITS + ('all', ), default='all')
    parser.add_argument('--fix-report', metavar='OUT.json',
                        help='write every problem with all its files to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    splits = SPLITS if args.split == 'all' else (args.split, )
    check_data_paths(cfg, splits)
    reports = check_datasets(cfg, splits)
    print(format_reports(reports))
    if args.fix_report:
        write_fix_report(reports, args.fix_report)
        print(f'wrote {args.fix_report}')
    return 1 if has_errors(reports) else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
