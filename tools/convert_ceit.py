#!/usr/bin/env python
"""Convert a released CeiT checkpoint to an mmpretrain ImageClassifier checkpoint.

    python tools/convert_ceit.py ceit_tiny_patch16_224.pth checkpoints/ceit_t_in1k.pth [--ema] [--arch tiny] [--force]

The source may hold ``model`` (and ``model_ema``) or be a bare state dict. It is read with
``torch.load(weights_only=True)``: no code from the file runs. The result, ``{'state_dict': ...,
'meta': ...}``, loads with ``load_checkpoint`` / ``init_cfg=dict(type='Pretrained', ...)`` (use
``prefix='backbone.'`` for detection and segmentation backbones). Errors exit with status 1 and a
message, before anything is written.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)

from secvit_mm.models.converters import convert_ceit_checkpoint  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.utils.checkpoint import run_converter  # noqa: E402


def convert(argv=None) -> int:
    return run_converter('CeiT', convert_ceit_checkpoint,
                         'check against this CeiT arch (tiny, small, base, tiny-384, ...); default: read it '
                         'off the checkpoint', argv)


def main(argv=None) -> int:
    """The tool; a refusal ends in one line and :class:`~secvit_mm.errors.ToolExit` (also in-process)."""
    return run_cli(convert, argv)


if __name__ == '__main__':
    sys.exit(run_cli(main))
