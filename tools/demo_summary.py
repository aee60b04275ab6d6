"""Print the demo's before/after COCO AP table from the two tools/test.py logs."""
import argparse
import os
import re
import sys

METRICS = ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50')


def read_metrics(log_path: str) -> dict:
    with open(log_path) as f:
        text = f.read()
    found = {m: float(v) for m, v in re.findall(r'coco/(\w+): (-?[\d.]+)', text)}
    if not found:
        sys.exit(f'error: no COCO metrics in {log_path}; see the log for what went wrong')
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('untrained_log')
    parser.add_argument('trained_log')
    parser.add_argument('--pictures', help='folder of saved prediction pictures')
    args = parser.parse_args()
    before, after = read_metrics(args.untrained_log), read_metrics(args.trained_log)
    print(f"\n{'metric':<14}{'untrained':>10}{'trained':>10}")
    for metric in METRICS:
        print(f'{metric:<14}{before.get(metric, float("nan")):>10.3f}{after.get(metric, float("nan")):>10.3f}')
    if args.pictures and os.path.isdir(args.pictures):
        count = sum(len(files) for _, _, files in os.walk(args.pictures))
        print(f'\n{count} prediction pictures in {args.pictures}')


if __name__ == '__main__':
    main()
