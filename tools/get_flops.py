"""Parameters and FLOPs of the whole model of a config (detector, segmentor or classifier).

    python tools/get_flops.py CONFIG [--shape H W] [--with-attn-matmuls] [--cfg-options k=v ...]

Default input sizes (the papers' conventions): classification 224x224, COCO 1280x800 (H 800, W 1280),
ADE20K 2048x512 (H 512, W 2048). ``--shape H W`` (or one value for a square) overrides it.

How FLOPs are counted: mmengine's ``FlopAnalyzer`` (fvcore's method: the model is traced with
``torch.jit`` and each aten op is priced by a handle; one multiply-add counts as ONE FLOP). Counted:

* convolutions (``aten::_convolution``: MACs of the kernel, bias not counted), linear layers and
  matrix products (``addmm``, ``linear``, ``matmul``, ``mm``, ``bmm``, ``einsum``: MACs);
* norms: ``batch_norm`` (1 FLOP per element in eval, affine folded), ``layer_norm`` /
  ``group_norm`` (2 per element with affine), ``instance_norm``;
* ``upsample_nearest2d`` / ``upsample_bilinear2d`` (0 / 4 per output element),
  ``adaptive_avg_pool2d`` (1 per input element), ``grid_sampler``;
* ``scaled_dot_product_attention`` (a handle added here, see below).

Not counted: activations (GELU, SiLU, ReLU, sigmoid), softmax, element-wise add / mul (residuals,
layer scale, RoPE rotations), sort / gather / index ops (the SEC clustering), max pooling, and
mmcv ops run outside aten (RoIAlign, NMS). Detectors are traced in mmdet's ``tensor`` mode (RPN
proposals go through the RoI heads, as mmdet's own get_flops does), segmentors through the decode
head (the auxiliary head is only used for training and is not counted), classifiers up to the logits.

Two conventions for attention, both printed, one chosen as the headline:

* WITHOUT the attention matmuls (the default; what the SecViT and CeiT papers' tables report):
  everything above except ``scaled_dot_product_attention``. This reproduces the SecViT table at
  224x224: T 2.51G, S 4.37G, B 9.68G, L 18.36G, and CeiT's 1.2G / 4.5G / 17.0G (T / S / B).
* WITH them (``--with-attn-matmuls``): plus q @ k^T and attn @ v of every attention call,
  ``B * heads * L * S * (E + Ev)`` multiply-adds for queries of length L, keys of length S and head
  dims E / Ev. For SEC attention the call runs on ``(B*heads, clusters, len, head_dim)`` tensors,
  so this is ``2 * B * heads * clusters * len * len * head_dim``, with ``len`` the PADDED cluster
  length ``ceil(N / clusters)`` when the token count does not divide. At 224x224: SecViT T 2.72G,
  S 4.76G, B 10.41G, L 19.39G; CeiT T 1.41G, S 4.79G, B 17.80G.
"""
import argparse
import json
import os.path as osp
import sys
from functools import partial
from typing import Any, List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout, too

from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
import torch  # noqa: E402
from mmengine.analysis import FlopAnalyzer, parameter_count  # noqa: E402
from mmengine.analysis.jit_handles import get_shape  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from secvit_mm.apis import build_model  # noqa: E402
from secvit_mm.apis.config import config_scope, load_config  # noqa: E402
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import UsageError  # noqa: E402

DEFAULT_SHAPES = {'mmpretrain': (224, 224), 'mmdet': (800, 1280), 'mmseg': (512, 2048)}
ATTENTION_OP = 'aten::scaled_dot_product_attention'


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """q @ k^T and attn @ v of ``scaled_dot_product_attention``: ``batch * L * S * (E + Ev)`` MACs."""
    q, k, v = (get_shape(t) for t in inputs[:3])
    batch = 1
    for d in q[:-2]:
        batch *= d
    length, embed = q[-2], q[-1]
    source, value_dim = k[-2], v[-1]
    return batch * length * source * (embed + value_dim)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a model config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='input H W (one value: square); default: 224x224 classification, '
                        '1280x800 detection, 2048x512 segmentation')
    parser.add_argument('--with-attn-matmuls', action='store_true',
                        help='headline FLOPs include the attention matmuls (q@k^T, attn@v)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON line (params, total, attention, shape) instead of the report')
    return parser.parse_args(argv)


def input_hw(scope: str, shape) -> Tuple[int, int]:
    if not shape:
        return DEFAULT_SHAPES[scope]
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    raise UsageError(f'--shape takes H W or one size, got {shape}')


def make_forward(model, scope: str, h: int, w: int):
    """(traceable callable, inputs): the model's ``tensor`` mode on one normalised HxW image."""
    img = torch.randn(1, 3, h, w)
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        sample = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), batch_input_shape=(h, w),
            scale_factor=(1., 1.)))
        return partial(model.forward, data_samples=[sample], mode='tensor'), (img, )
    if scope == 'mmseg':
        return partial(model.forward, data_samples=None, mode='tensor'), (img, )
    return partial(model.forward, mode='tensor'), (img, )


class _Wrapper(torch.nn.Module):
    """Gives the partial forward a Module for the tracer, keeping the model's module names."""

    def __init__(self, model, forward):
        super().__init__()
        self.model = model
        self._fwd = forward

    def forward(self, x):
        return self._fwd(x)


def analyze(cfg, h: int, w: int) -> dict:
    scope = config_scope(cfg)
    model = build_model(cfg)  # parameters and FLOPs do not depend on the weights: random init
    forward, inputs = make_forward(model, scope, h, w)
    wrapper = _Wrapper(model, forward)
    analyzer = FlopAnalyzer(wrapper, inputs)
    analyzer.set_op_handle(ATTENTION_OP, sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
        by_op = dict(analyzer.by_operator())
        by_module = analyzer.by_module()
    attention = by_op.get('scaled_dot_product_attention', 0)
    params = parameter_count(model)['']
    parts = {name: by_module.get(f'model.{name}', 0) for name, _ in model.named_children()
             if by_module.get(f'model.{name}', 0)}
    return dict(scope=scope, params=params, total=total, attention=attention, by_op=by_op, parts=parts,
                unsupported=dict(analyzer.unsupported_ops()))


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    h, w = input_hw(config_scope(cfg), args.shape)
    res = analyze(cfg, h, w)
    if args.json:
        print(json.dumps(dict(params=res['params'], total=res['total'], attention=res['attention'], shape=[h, w])))
        return
    without = res['total'] - res['attention']
    with_attn = res['total']
    headline = with_attn if args.with_attn_matmuls else without
    convention = ('WITH the attention matmuls (q@k^T, attn@v)' if args.with_attn_matmuls else
                  'WITHOUT the attention matmuls (the SecViT / CeiT papers\' convention)')
    line = '=' * 60
    print(line)
    print(f'Config: {args.config}')
    print(f'Input shape: 1x3x{h}x{w} (H x W)')
    print(f'Params: {res["params"] / 1e6:.2f} M ({res["params"]:,})')
    print(f'FLOPs: {headline / 1e9:.2f} G  [{convention}; 1 multiply-add = 1 FLOP]')
    print(f'  without attention matmuls: {without / 1e9:.3f} G')
    print(f'  attention matmuls:         {res["attention"] / 1e9:.3f} G')
    print(f'  with attention matmuls:    {with_attn / 1e9:.3f} G')
    print('  by operator: ' + ', '.join(f'{k} {v / 1e9:.3f}G' for k, v in sorted(res['by_op'].items())))
    print('  by part:     ' + ', '.join(f'{k} {v / 1e9:.3f}G' for k, v in res['parts'].items()))
    print('Counted: convs, linears / matmuls, norms, upsampling, adaptive pooling, attention matmuls '
          '(see the docstring); not counted: activations, softmax, element-wise ops, sort/gather, '
          'mmcv ops (RoIAlign, NMS).')
    print(line)


if __name__ == '__main__':
    sys.exit(run_cli(main))
