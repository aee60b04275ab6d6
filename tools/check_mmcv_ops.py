"""Check that mmcv's compiled ops work for a flavour: ``python tools/check_mmcv_ops.py cpu|cuda``.

Used by tools/install.sh after every install. The ops must load, mmcv must be the wanted version, a
``cuda`` flavour must have been compiled with CUDA (``get_compiling_cuda_version``), and ``nms`` and
``RoIAlign`` must give the right results on a tensor of the flavour's device (on the CPU when a CUDA
build meets no GPU, e.g. building on a login node). Exit 0 with one line of what was checked, or 1 with
what is wrong and what to do.
"""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('flavour', choices=['cpu', 'cuda'])
    parser.add_argument('--version', default='2.1.0', help='the mmcv version wanted (default 2.1.0)')
    args = parser.parse_args(argv)
    try:
        import mmcv
        import torch
        from mmcv.ops import RoIAlign, get_compiling_cuda_version, nms
    except Exception as e:  # not installed, or ops that do not load
        print(f'mmcv {args.version} with ops does not import: {e}', file=sys.stderr)
        return 1
    if mmcv.__version__ != args.version:
        print(f'mmcv {mmcv.__version__} is installed, {args.version} is wanted', file=sys.stderr)
        return 1
    built = get_compiling_cuda_version()
    if args.flavour == 'cuda' and built == 'not available':
        print('the installed mmcv was compiled WITHOUT CUDA ops: the first NMS or RoIAlign on a GPU tensor would '
              'fail in the middle of training. Rebuild it with CUDA ops: bash tools/install.sh --cuda '
              '(or use --cpu for a CPU-only environment)', file=sys.stderr)
        return 1
    device = 'cuda' if args.flavour == 'cuda' and torch.cuda.is_available() else 'cpu'
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]], device=device)
    scores = torch.tensor([0.9, 0.8, 0.7], device=device)
    _, keep = nms(boxes, scores, 0.5)
    feats = torch.arange(2 * 16 * 16, dtype=torch.float32, device=device).reshape(1, 2, 16, 16)
    rois = torch.tensor([[0., 2., 2., 10., 10.]], device=device)
    pooled = RoIAlign((2, 2), 1.0, 0)(feats, rois)
    if keep.tolist() != [0, 2] or pooled.shape != (1, 2, 2, 2) or pooled.device.type != device:
        print(f'mmcv ops gave wrong results on {device}: nms kept {keep.tolist()} (want [0, 2]), '
              f'RoIAlign {tuple(pooled.shape)} on {pooled.device.type}', file=sys.stderr)
        return 1
    note = '' if device == args.flavour else ' (CUDA ops built; no GPU visible to run them, checked on the CPU)'
    print(f'mmcv {args.version} ops OK on {device}, compiled with CUDA: {built}{note}')
    if args.flavour == 'cpu' and torch.cuda.is_available():
        print('warning: a GPU is visible but this mmcv has CPU ops only (--cpu): GPU training needs --cuda')
    return 0


if __name__ == '__main__':
    sys.exit(main())
