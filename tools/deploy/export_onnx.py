"""Export the backbone of a secvit-mm config to ONNX, with dynamic image height and width.

    python tools/deploy/export_onnx.py CONFIG OUT.onnx [--checkpoint CKPT] [--shape H W] [--verify]
        [--cfg-options k=v ...]

The model is built from the config (its scope's registry: mmdet / mmseg / mmpretrain) and its
``model.backbone`` is exported (input ``image``: (N, 3, H, W) normalised; outputs ``out0``...: the
backbone's feature maps). ``--checkpoint`` loads a Runner or released-converted checkpoint
(the ``backbone.`` keys). ``--verify`` runs onnxruntime at two sizes (the export size and one not
divisible by the cluster counts) and fails unless every output agrees with PyTorch within a max
relative difference of 1e-4 (max |a - b| / max |b| per output). See docs/deployment.md.
"""
import argparse
import importlib.util
import os.path as osp
import sys
from typing import List, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
import torch  # noqa: E402
from torch import nn  # noqa: E402

from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis import build_model  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import EXIT_ENV, ToolExit, ToolFailedError  # noqa: E402

RTOL = 1e-4
# Range of the exported graph's dynamic height / width, in pixels.
MIN_SIDE, MAX_SIDE = 32, 4096


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a config\'s backbone to ONNX')
    parser.add_argument('config')
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--checkpoint', help='checkpoint with backbone.* keys (default: random init)')
    parser.add_argument('--shape', nargs=2, type=int, default=[224, 224], metavar=('H', 'W'),
                        help='example input size for the export (default 224 224)')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch at two sizes (max rel. diff <= 1e-4)')
    parser.add_argument('--legacy', action='store_true', help='use the TorchScript exporter (dynamo=False)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


ONNX_EXTRA = 'pip install -e .[onnx] (or: bash tools/install.sh --with-onnx)'


def dynamic_export_supported() -> bool:
    """The dynamo export's size bounds need ``torch.export.Dim.DYNAMIC(min=..., max=...)``: callable in
    torch 2.14.1 (verified), a plain marker in torch 2.6.0 (verified)."""
    return callable(getattr(getattr(torch.export, 'Dim', None), 'DYNAMIC', None))


def require_onnx_packages(verify: bool, legacy: bool) -> None:
    """Exit with the extra to install when a package the export needs is missing."""
    if not legacy and not dynamic_export_supported():
        raise ToolExit(f'the dynamic-size export needs a newer torch than {torch.__version__} '
                       '(torch.export.Dim.DYNAMIC with min/max bounds; torch 2.14.1 has it): upgrade torch, '
                       'or use --legacy (the TorchScript exporter)', EXIT_ENV)
    needed = ['onnx'] + ([] if legacy else ['onnxscript']) + (['onnxruntime'] if verify else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ToolExit(f'ONNX export{" with --verify" if verify else ""} needs {", ".join(missing)} '
                       f'(not installed); install the onnx extra: {ONNX_EXTRA}', EXIT_ENV)


class _Outputs(nn.Module):
    """Backbone -> a flat tuple of tensors."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, image):
        out = self.backbone(image)
        return tuple(out) if isinstance(out, (list, tuple)) else (out, )


def export(backbone: nn.Module, out: str, shape: Sequence[int], legacy: bool = False) -> List[str]:
    model = _Outputs(backbone).eval()
    x = torch.randn(1, 3, *shape)
    with torch.no_grad():
        num_outputs = len(model(x))
    names = [f'out{i}' for i in range(num_outputs)]
    if legacy:
        axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({n: {0: 'batch', 2: f'{n}_h', 3: f'{n}_w'} for n in names})
        torch.onnx.export(model, (x, ), out, input_names=['image'], output_names=names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    else:
        # Dim.DYNAMIC rather than named Dims: named ones make torch.export turn every relation it
        # derives between height and width (SEC-Swin's window padding) into an error.
        side = torch.export.Dim.DYNAMIC(min=MIN_SIDE, max=MAX_SIDE)
        dynamic_shapes = {'image': {2: side, 3: side}}
        program = torch.onnx.export(model, (x, ), input_names=['image'], output_names=names,
                                    dynamic_shapes=dynamic_shapes, dynamo=True, optimize=True,
                                    verbose=False)
        program.save(out)
    return names


def verify(backbone: nn.Module, out: str, sizes: Sequence[Tuple[int, int]]) -> List[dict]:
    """Max relative difference (max |ort - torch| / max |torch|) per output at each size."""
    import onnxruntime as ort
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    model = _Outputs(backbone).eval()
    report = []
    for h, w in sizes:
        torch.manual_seed(h * 10007 + w)
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            ref = [t.numpy() for t in model(x)]
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        for i, (a, b) in enumerate(zip(got, ref)):
            if a.shape != b.shape:
                raise ToolFailedError(f'verify FAILED: {h}x{w} out{i}: onnxruntime shape {a.shape}, PyTorch {b.shape}')
            rel = float(abs(a - b).max() / max(abs(b).max(), 1e-12))
            report.append(dict(size=(h, w), output=i, shape=tuple(b.shape), max_rel_diff=rel))
    return report


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    require_onnx_packages(args.verify, args.legacy)
    backbone = build_model(args.config, args.checkpoint, backbone_only=True, cfg_options=args.cfg_options)
    export(backbone, args.out, args.shape, args.legacy)
    print(f'exported {type(backbone).__name__} to {args.out} (dynamic height/width)')
    if not args.verify:
        return []
    h, w = args.shape
    # The second size: odd token counts at every stage, not divisible by any cluster count.
    sizes = [(h, w), (h + 37, w - 29 if w - 29 >= 32 else w + 45)]
    report = verify(backbone, args.out, sizes)
    worst = max(r['max_rel_diff'] for r in report)
    for r in report:
        print(f"  {r['size'][0]}x{r['size'][1]} out{r['output']} {r['shape']}: max rel diff {r['max_rel_diff']:.2e}")
    if worst > RTOL:
        raise ToolFailedError(f'verify FAILED: max relative difference {worst:.2e} > {RTOL:g}')
    print(f'verify OK: max relative difference {worst:.2e} <= {RTOL:g}')
    return report


if __name__ == '__main__':
    sys.exit(run_cli(main))
