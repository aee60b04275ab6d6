"""The paper's Figure 4 for any image: the image beside SEC's clusters in stages 1-3.

    python tools/visualize_clusters.py CONFIG IMAGE --out OUT.png [--checkpoint CKPT] [--head H]
        [--max-size 512] [--alpha 0.6] [--cfg-options k=v ...]

Works from a classification, detection or segmentation config: the model's ``backbone`` (a SecViT)
is built through the config's scope registry, the image is normalised with the config's
``data_preprocessor`` mean/std (and BGR->RGB when it asks for it) and run once. A forward hook on
the first block's attention of each stage takes its input, projects the keys exactly as the block
does (``SECAttention.project``), and gets the per-head token order from ``semantic_order`` and the
chunking from ``cluster_layout`` (the library's own functions: nothing is re-implemented). A
token's cluster is its position in the sorted order // ``cluster_len``. Each patch of the picture is
coloured by its cluster for head ``--head`` (default 0), blended over the image.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import ConfigError, PathNotFoundError, UsageError  # noqa: E402

TITLE_HEIGHT = 22


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Colour each patch by its SEC cluster (paper Fig. 4)')
    parser.add_argument('config')
    parser.add_argument('image')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--checkpoint', help='checkpoint with backbone.* keys (default: random init)')
    parser.add_argument('--head', type=int, default=0, help='attention head to show (default 0)')
    parser.add_argument('--max-size', type=int, default=512, help='resize so the longer side is at most this')
    parser.add_argument('--alpha', type=float, default=0.6, help='opacity of the cluster colours')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _normalisation(config: str, cfg_options=None):
    from secvit_mm.apis.config import load_config
    cfg = load_config(config, cfg_options)
    pre = cfg.get('model', {}).get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    mean = pre.get('mean', [123.675, 116.28, 103.53])
    std = pre.get('std', [58.395, 57.12, 57.375])
    to_rgb = bool(pre.get('bgr_to_rgb', pre.get('to_rgb', True)))
    return np.array(mean, np.float32), np.array(std, np.float32), to_rgb


def cluster_maps(backbone, x: torch.Tensor, head: int = 0, stages=(0, 1, 2)):
    """{stage: (h, w) int64 cluster ids of head ``head``} for one image ``x`` (1, 3, H, W)."""
    from secvit_mm.models.layers.sec_attention import cluster_layout, semantic_order
    maps, handles = {}, []

    def hook_for(stage):
        def hook(module, args, output):
            feat, rope = args[0], args[1] if len(args) > 1 else None
            _, k, _ = module.project(feat, rope)  # (B, heads, N, d), as the block computes them
            if not 0 <= head < k.shape[1]:
                raise UsageError(f'--head {head}: stage {stage + 1} has {k.shape[1]} heads')
            n = k.shape[2]
            layout = cluster_layout(n, module.num_clusters, module.cluster_size)
            order = semantic_order(k)[0, head]  # sorted slot -> token
            rank = torch.empty_like(order)
            rank[order] = torch.arange(n)
            maps[stage] = (rank // layout.cluster_len).view(feat.shape[2], feat.shape[3]).cpu()
        return hook

    for stage in stages:
        attn = backbone.stages[stage].blocks[0].attn
        handles.append(attn.register_forward_hook(hook_for(stage)))
    try:
        with torch.no_grad():
            backbone(x)
    finally:
        for h in handles:
            h.remove()
    return maps


def _palette(n: int) -> np.ndarray:
    """n distinct RGB colours (golden-ratio hues)."""
    import colorsys
    return np.array([[int(255 * c) for c in colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.85, 0.95)]
                     for i in range(max(n, 1))], np.uint8)


def render(image_rgb: np.ndarray, maps: dict, alpha: float = 0.6) -> np.ndarray:
    import cv2
    h, w = image_rgb.shape[:2]
    panels = [(image_rgb, 'image')]
    for stage, ids in sorted(maps.items()):
        ids = ids.numpy()
        colours = _palette(int(ids.max()) + 1)[ids]
        colours = cv2.resize(colours, (w, h), interpolation=cv2.INTER_NEAREST)
        blend = (alpha * colours + (1 - alpha) * image_rgb).astype(np.uint8)
        panels.append((blend, f'stage {stage + 1}: {int(ids.max()) + 1} clusters'))
    out = []
    for img, title in panels:
        bar = np.full((TITLE_HEIGHT, w, 3), 255, np.uint8)
        cv2.putText(bar, title, (4, TITLE_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        out.append(np.concatenate([bar, img], axis=0))
    return np.concatenate(out, axis=1)


def main(argv=None) -> np.ndarray:
    import mmcv
    args = parse_args(argv)
    from secvit_mm.apis import build_model
    backbone = build_model(args.config, args.checkpoint, backbone_only=True, cfg_options=args.cfg_options)
    if not hasattr(backbone, 'stages') or not hasattr(backbone.stages[0].blocks[0], 'attn'):
        raise ConfigError(f'{args.config}: the backbone ({type(backbone).__name__}) has no SEC attention stages')
    if not osp.isfile(args.image):
        raise PathNotFoundError(f'image not found: {args.image!r}')
    bgr = mmcv.imread(args.image)
    scale = min(1.0, args.max_size / max(bgr.shape[:2]))
    if scale < 1:
        bgr = mmcv.imrescale(bgr, scale)
    rgb = bgr[..., ::-1].copy()
    mean, std, to_rgb = _normalisation(args.config, args.cfg_options)
    x = ((rgb if to_rgb else bgr).astype(np.float32) - mean) / std
    x = torch.from_numpy(x).permute(2, 0, 1)[None].contiguous()
    maps = cluster_maps(backbone, x, args.head)
    picture = render(rgb, maps, args.alpha)
    mmcv.imwrite(picture[..., ::-1], args.out)
    print(f'wrote {args.out} ({picture.shape[1]}x{picture.shape[0]}), head {args.head}')
    return picture


if __name__ == '__main__':
    sys.exit(run_cli(main))
