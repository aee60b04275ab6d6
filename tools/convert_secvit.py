"""Convert a released SecViT checkpoint into an mmpretrain checkpoint of this package.

    python tools/convert_secvit.py RELEASED.pth checkpoints/secvit_t_in1k.pth [--ema] [--arch tiny]

The result loads with ``mmpretrain.apis.init_model('configs/secvit_t_in1k.py', DST)`` (no missing or
unexpected keys) and, through ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``,
into the dense configs' backbones.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
import torch  # noqa: E402

from secvit_mm.models.backbones.secvit import convert_secvit_checkpoint, infer_secvit_arch, match_secvit_arch  # noqa: E402,E501


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint (a dict with model / model_ema, or a state dict)')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument('--ema', action='store_true', help="convert 'model_ema' instead of 'model'")
    parser.add_argument('--arch', help='refuse the checkpoint unless it is this arch (tiny/small/base/large)')
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    return parser.parse_args(argv)


def save_atomically(obj: dict, path: str) -> None:
    """Write next to ``path`` and rename: an interrupted run never leaves a half-written file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        sys.exit(f'error: source checkpoint not found: {args.src}')
    if osp.exists(args.dst) and not args.force:
        sys.exit(f'error: {args.dst} exists; pass --force to overwrite it')
    try:
        checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    except Exception as err:  # corrupt file, or pickled objects that are not plain tensors
        sys.exit(f'error: cannot read {args.src} as a checkpoint of tensors: {err}')
    entry = 'model_ema' if args.ema else 'model'
    if isinstance(checkpoint, dict) and entry in checkpoint:
        state_dict = checkpoint[entry]
    elif args.ema:
        sys.exit(f"error: --ema given but {args.src} has no 'model_ema' entry "
                 f'(top-level keys: {sorted(checkpoint)[:10]})')
    else:
        state_dict = checkpoint
    try:
        converted = convert_secvit_checkpoint(state_dict, arch=args.arch)
    except ValueError as err:
        sys.exit(f'error: {err}')
    arch = match_secvit_arch(infer_secvit_arch(state_dict))
    save_atomically(dict(state_dict=converted,
                         meta=dict(arch=arch, source=osp.basename(args.src), ema=args.ema)), args.dst)
    print(f'converted SecViT-{arch} ({entry}, {len(converted)} tensors) -> {args.dst}')


if __name__ == '__main__':
    main()
