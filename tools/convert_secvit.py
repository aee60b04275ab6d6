"""Convert a released SecViT checkpoint into an mmpretrain checkpoint of this package.

    python tools/convert_secvit.py RELEASED.pth checkpoints/secvit_t_in1k.pth [--ema] [--arch tiny] [--force]

The result loads with ``mmpretrain.apis.init_model('configs/secvit_t_in1k.py', DST)`` (no missing or
unexpected keys) and, through ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``,
into the dense configs' backbones. Errors exit with status 1 and a message, before anything is written.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from secvit_mm.models.converters import convert_secvit_checkpoint  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.utils.checkpoint import run_converter  # noqa: E402


def convert(argv=None) -> int:
    return run_converter('SecViT', convert_secvit_checkpoint,
                         'refuse the checkpoint unless it is this arch (tiny/small/base/large)', argv)


def main(argv=None) -> int:
    """The tool; a refusal ends in one line and :class:`~secvit_mm.errors.ToolExit` (also in-process)."""
    return run_cli(convert, argv)


if __name__ == '__main__':
    sys.exit(run_cli(main))
