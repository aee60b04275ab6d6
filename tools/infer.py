"""Run a detection or segmentation checkpoint on your own images, a folder of images or a video.

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out DIR] [--device cpu|cuda] [--score-thr T] [--tta]
        [--cfg-options k=v ...]

Writes the drawn pictures to DIR/vis/ (a drawn .mp4 for a video) and the predictions as JSON to
DIR/preds/ (segmentation: also a label PNG per image). Built on mmdet's DetInferencer and mmseg's
MMSegInferencer; see docs/inference.md.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis.inference import run_inference  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import UsageError  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run a detector / segmentor on images or a video')
    parser.add_argument('config', help='detection (mmdet) or segmentation (mmseg) config file')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('input', help='an image, a folder of images (searched recursively) or a video file')
    parser.add_argument('--out', default='outputs', help='output folder (default: %(default)s)')
    parser.add_argument('--device', help='cpu, cuda or cuda:N (default: cuda when available, else cpu)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='detection: lowest score drawn and written (default 0.3)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_pipeline (flips, scales) and tta_model")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.score_thr is not None and not 0 <= args.score_thr <= 1:
        raise UsageError(f'--score-thr must be in [0, 1], got {args.score_thr}')
    written = run_inference(args.config, args.checkpoint, args.input, args.out, device=args.device,
                            score_thr=0.3 if args.score_thr is None else args.score_thr, tta=args.tta,
                            cfg_options=args.cfg_options)
    print(f'{len(written)} prediction file(s) in {osp.join(args.out, "preds")}, '
          f'pictures in {osp.join(args.out, "vis")}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
