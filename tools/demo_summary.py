"""Print the demo's before/after COCO AP table from the two tools/test.py logs.

    python tools/demo_summary.py UNTRAINED_LOG TRAINED_LOG [--tta-log LOG] [--pictures DIR]
    python tools/demo_summary.py --brief LOG      # one line: the figures of one log
"""
import argparse
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import InputError  # noqa: E402

METRICS = ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50')


def read_metrics(log_path: str) -> dict:
    with open(log_path) as f:
        text = f.read()
    found = {m: float(v) for m, v in re.findall(r'coco/(\w+): (-?[\d.]+)', text)}
    if not found:
        raise InputError(f'no COCO metrics in {log_path}; see the log for what went wrong')
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('untrained_log')
    parser.add_argument('trained_log', nargs='?')
    parser.add_argument('--brief', action='store_true', help="one line with the first log's figures")
    parser.add_argument('--tta-log', help='tools/test.py --tta log of the trained model: adds a column')
    parser.add_argument('--pictures', help='folder of saved prediction pictures')
    args = parser.parse_args()
    if args.brief:
        found = read_metrics(args.untrained_log)
        print('   ' + ', '.join(f'{metric} {found[metric]:.3f}' for metric in METRICS if metric in found))
        return
    if args.trained_log is None:
        parser.error('the trained model\'s log is needed for the table (or --brief for one log)')
    columns = {'untrained': read_metrics(args.untrained_log), 'trained': read_metrics(args.trained_log)}
    if args.tta_log:
        columns['trained+TTA'] = read_metrics(args.tta_log)
    print('\n' + f"{'metric':<14}" + ''.join(f'{name:>13}' for name in columns))
    for metric in METRICS:
        print(f'{metric:<14}' + ''.join(f'{found.get(metric, float("nan")):>13.3f}' for found in columns.values()))
    if args.pictures and os.path.isdir(args.pictures):
        count = sum(len(files) for _, _, files in os.walk(args.pictures))
        print(f'\n{count} prediction pictures in {args.pictures}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
