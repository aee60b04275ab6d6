#!/usr/bin/env python
"""Convert a released CeiT checkpoint to an mmpretrain ImageClassifier checkpoint.

    python tools/convert_ceit.py ceit_tiny_patch16_224.pth checkpoints/ceit_t_in1k.pth [--ema]

The source may hold ``model`` (and ``model_ema``) or be a bare state dict. It is read with
``torch.load(weights_only=True)``: no code from the file runs. The result, ``{'state_dict': ...,
'meta': ...}``, loads with ``load_checkpoint`` / ``init_cfg=dict(type='Pretrained', ...)`` (use
``prefix='backbone.'`` for detection and segmentation backbones).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import List, Optional

import torch


def read_state_dict(path: str, ema: bool) -> dict:
    # DeiT-style training checkpoints also store their argparse.Namespace; allowing that plain
    # attribute bag keeps weights_only loading possible without trusting anything else.
    from secvit_mm.utils.safe_load import load_checkpoint_safely  # CheckpointReadError: one line
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = load_checkpoint_safely(path)
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: expected a dict, got {type(ckpt).__name__}')
    key = 'model_ema' if ema else 'model'
    if key in ckpt:
        return ckpt[key]
    if ema:
        raise ValueError(f'{path}: --ema given but there is no "model_ema" '
                         f'(top-level keys: {sorted(ckpt)})')
    if 'state_dict' in ckpt:
        return ckpt['state_dict']
    if all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt  # a bare state dict
    raise ValueError(f'{path}: no "model" entry and not a bare state dict '
                     f'(top-level keys: {sorted(ckpt)})')


def save_atomically(obj: dict, dst: str) -> None:
    """Write to a temporary file next to dst, then rename: dst is never left half-written."""
    dst_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(dst) + '.', suffix='.tmp', dir=dst_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released CeiT checkpoint')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument('--ema', action='store_true', help='convert "model_ema" instead of "model"')
    parser.add_argument('--arch', default=None,
                        help='check against this CeiT arch (tiny, small, base, tiny-384, ...); '
                        'default: read it off the checkpoint')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from secvit_mm.models.backbones.ceit import convert_ceit_checkpoint
    if osp.exists(args.dst) and not args.force:
        print(f'error: {args.dst} exists; pass --force to overwrite it', file=sys.stderr)
        return 1
    if osp.abspath(args.src) == osp.abspath(args.dst):
        print('error: src and dst are the same file', file=sys.stderr)
        return 1
    try:
        state_dict = convert_ceit_checkpoint(read_state_dict(args.src, args.ema), arch=args.arch)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    meta = dict(converted_from=osp.basename(args.src), weights='model_ema' if args.ema else 'model')
    save_atomically(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'wrote {len(state_dict)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
