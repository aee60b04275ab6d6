"""SecViT: Semantic Equitable Clustering Vision Transformer (arXiv 2405.13337).

A four-stage NCHW pyramid (strides 4 / 8 / 16 / 32) whose blocks are
``x + cpe(x)``, ``x + attn(ln(x))`` with SEC attention, ``x + ffn(ln(x))``. Exact to the authors'
released classification model (``KClusterFormerSimpleNew``; their ``_M`` is SecViT-B here), with
two additions for dense prediction: any input size (uneven clusters are padded and masked), and an
optional fixed ``cluster_size`` whose cost grows linearly with the image.

The released checkpoints use other module names; :func:`convert_secvit_checkpoint` (here, beside the
model it serves, as timm keeps ``checkpoint_filter_fn`` in the model file) maps them.

Pure torch: the mm backbone (``secvit_mm.models.backbones.SecViT``) and the timm models
(``secvit_tiny`` ...) are thin shells over the classes here.
"""
import re
import warnings
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .backbone import PyramidBackbone
from .blocks import SECBlock, Stage
from .checks import ClusterSpec, describe_state_dict_mismatch
from .layers import LayerNorm2d, NormLayer, pad_to_multiple
from .tracing import static_shapes

__all__ = ['SecViT', 'SecViTHead', 'convert_secvit_checkpoint', 'infer_secvit_arch', 'is_released_secvit_layout',
           'match_secvit_arch']

# The paper's clusters per stage; stage 4 runs global attention.
PAPER_NUM_CLUSTERS = (32, 8, 2, None)


class ConvStem(nn.Sequential):
    """Four 3x3 convs (strides 2, 1, 1, 2) with norms; activations between, none at the end. Stride 4.

    A Sequential so that its indices match the released ``patch_embed.proj.{0..10}`` keys.
    """

    def __init__(self, in_channels: int, embed_dims: int, norm_layer: NormLayer = nn.BatchNorm2d,
                 act_layer: Callable[[], nn.Module] = nn.GELU) -> None:
        mid = embed_dims // 2
        layers = []
        for i, (cin, cout, stride) in enumerate(
                [(in_channels, mid, 2), (mid, mid, 1), (mid, mid, 1), (mid, embed_dims, 2)]):
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), norm_layer(cout)]
            if i < 3:
                layers.append(act_layer())
        super().__init__(*layers)


class PatchStem(nn.Module):
    """4x4 stride-4 conv + LayerNorm over channels: the ViT / Swin patch embedding (ablation stem)."""

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, 4, 4)
        self.norm = LayerNorm2d(embed_dims, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        # Pad bottom/right to a multiple of 4 so the grid is ceil(H / 4) x ceil(W / 4), as with ConvStem.
        return self.norm(self.proj(pad_to_multiple(x, 4)))


class ConvDownsample(nn.Module):
    """3x3 stride-2 conv + norm between stages (no activation)."""

    def __init__(self, in_channels: int, out_channels: int, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.norm = norm_layer(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(x))


class SecViT(PyramidBackbone):
    """SecViT backbone (Semantic Equitable Clustering ViT).

    Args:
        arch: 'tiny' / 'small' / 'base' / 'large' (or 't' / 's' / 'b' / 'l'), or a dict with keys
            ``embed_dims``, ``depths``, ``num_heads`` (4-sequences) and optionally ``mlp_ratio``,
            ``drop_path_rate``, ``layer_scale`` (4 bools).
        in_channels: input image channels. Default 3.
        num_clusters: clusters per image and head: an int for stages 1-3 (stage 4 stays global) or
            4 values, None / -1 meaning global. Default: the paper's (32, 8, 2, None).
        cluster_size: tokens per cluster instead (an int for stages 1-3, or 4 values); takes
            precedence over ``num_clusters``. Cost then grows linearly with the image; 98 equals the
            paper's clusters at 224x224 in every clustered stage.
        out_indices: stages whose outputs are returned (0-3, taken before each stage's
            downsample; strides 4, 8, 16, 32). Default (0, 1, 2, 3).
        drop_path_rate: stochastic depth, linearly increasing over blocks. Default: the arch's.
        layer_scale_init_value: initial value of layer scales where the arch uses them. 1e-6.
        use_cpe: conditional position encoding (depthwise 3x3) in every block. Default True.
        use_lepe: local enhancement (depthwise 5x5 on v) in attention. Default True.
        stem_type: 'conv' (the paper's four-conv stem, default) or 'patch' (a 4x4 stride-4 conv +
            LayerNorm patch embedding; ablation, paper Table 6 "conv stem").
        attn_type: 'sec' (semantic clustering, default) or 'window': the same attention and
            parameters over fixed spatial windows (``SECAttention(grouping='spatial')``, same
            cluster sizes); ablation, paper Table 6.
        norm_layer: norm of the conv stem and the downsamples, called with the channels. Default
            ``nn.BatchNorm2d`` (released).
        act_layer: activation of the conv stem. Default ``nn.GELU`` (released).
        grad_checkpointing: activation checkpointing of each block (less memory, more compute).

    Bad inputs are refused with a ValueError naming the problem (``check_input``): not an
    (N, C, H, W) tensor, a channel count other than ``in_channels``, an empty batch or a side
    under 32 px (the total stride), and NaN / inf values (an error, not a warning: one bad value
    spreads to every token of its cluster; skipped while tracing/exporting). Unknown keyword
    arguments raise a TypeError listing the valid ones.
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=[64, 128, 256, 512], depths=[2, 2, 9, 2], num_heads=[2, 4, 8, 16],
            mlp_ratio=3., drop_path_rate=0.1, layer_scale=[False, False, False, False])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[64, 128, 256, 512], depths=[3, 4, 18, 4], num_heads=[2, 4, 8, 16],
            mlp_ratio=3., drop_path_rate=0.15, layer_scale=[False, False, False, False])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[80, 160, 320, 512], depths=[4, 8, 26, 8], num_heads=[5, 5, 10, 16],
            mlp_ratio=3., drop_path_rate=0.4, layer_scale=[False, False, True, True])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[112, 224, 448, 640], depths=[4, 8, 26, 8], num_heads=[7, 7, 14, 20],
            mlp_ratio=3., drop_path_rate=0.5, layer_scale=[False, False, True, True])),
    }
    arch_required = ('embed_dims', 'depths', 'num_heads')
    arch_optional = ('mlp_ratio', 'drop_path_rate', 'layer_scale')
    arch_per_stage = ('embed_dims', 'depths', 'num_heads')

    def __init__(self, arch: Union[str, dict] = 'tiny', in_channels: int = 3,
                 num_clusters: ClusterSpec = PAPER_NUM_CLUSTERS, cluster_size: ClusterSpec = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3), drop_path_rate: Optional[float] = None,
                 layer_scale_init_value: float = 1e-6,
                 use_cpe: bool = True, use_lepe: bool = True, stem_type: str = 'conv', attn_type: str = 'sec',
                 norm_layer: NormLayer = nn.BatchNorm2d, act_layer: Callable[[], nn.Module] = nn.GELU,
                 grad_checkpointing: bool = False, frozen_stages: int = -1) -> None:
        super().__init__()
        rates = self.setup_stages(arch, in_channels, out_indices, drop_path_rate, num_clusters, cluster_size,
                                  frozen_stages=frozen_stages)
        embed_dims, num_heads = self.embed_dims, self.arch_settings['num_heads']
        layer_scale = self.arch_settings.get('layer_scale', [False] * self.num_stages)
        if stem_type not in ('conv', 'patch'):
            raise ValueError(f"stem_type must be 'conv' or 'patch', got {stem_type!r}")
        if attn_type not in ('sec', 'window'):
            raise ValueError(f"attn_type must be 'sec' or 'window', got {attn_type!r}")
        self.stem_type = stem_type
        self.attn_type = attn_type

        if stem_type == 'conv':
            self.stem = ConvStem(in_channels, embed_dims[0], norm_layer, act_layer)
        else:
            self.stem = PatchStem(in_channels, embed_dims[0])
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            blocks = [
                SECBlock(
                    embed_dims[i], num_heads[i], self.num_clusters[i], self.cluster_size[i],
                    mlp_ratio=self.arch_settings.get('mlp_ratio', 3.), drop_path=rate,
                    layer_scale_init_value=layer_scale_init_value if layer_scale[i] else 0.,
                    use_cpe=use_cpe, use_lepe=use_lepe,
                    grouping='semantic' if attn_type == 'sec' else 'spatial') for rate in rates[i]
            ]
            downsample = (ConvDownsample(embed_dims[i], embed_dims[i + 1], norm_layer)
                          if i < self.num_stages - 1 else None)
            self.stages.append(Stage(blocks, downsample, embed_dims[i] // num_heads[i], grad_checkpointing))

    def check_input(self, x: Tensor) -> None:
        super().check_input(x)
        self._warn_if_costly(x)

    #: Paper-mode (``num_clusters``) clusters longer than this warn once: quadratic cost. COCO-size
    #: inputs (1333x800) make clusters of about 2 100 tokens; 4000x3000 about 23 000.
    large_cluster_tokens = 8192

    def attention_cost(self, height: int, width: int) -> Tuple[int, float]:
        """(longest count-sized cluster in tokens, attention GFLOPs: q.k and attn.v) for one HxW image.

        Only stages clustered by ``num_clusters`` count towards the longest cluster: their clusters
        grow with the image (fixed-size clusters and the global last stage are the design).
        """
        longest, flops = 0, 0.
        h, w = height, width
        for i in range(self.num_stages):
            h, w = (h + 1) // 2, (w + 1) // 2
            if i == 0:
                h, w = (h + 1) // 2, (w + 1) // 2  # the stem's two stride-2 steps
            tokens = h * w
            if self.cluster_size[i] is not None:
                length = min(self.cluster_size[i], tokens)
            else:
                length = -(-tokens // min(self.num_clusters[i] or 1, tokens))
                if self.num_clusters[i] is not None:
                    longest = max(longest, length)
            flops += self.arch_settings['depths'][i] * 4 * tokens * length * self.embed_dims[i]
            if i >= max(self.out_indices):
                break
        return longest, flops / 1e9

    def _warn_if_costly(self, x: Tensor) -> None:
        if getattr(self, '_cost_warned', False) or not static_shapes():
            return
        longest, gflops = self.attention_cost(x.shape[2], x.shape[3])
        if longest > self.large_cluster_tokens:
            self._cost_warned = True
            warnings.warn(
                f'SecViT paper-mode clusters (num_clusters={list(self.num_clusters)}) on a '
                f'{x.shape[3]}x{x.shape[2]} input hold up to {longest} tokens: about {gflops:.3g} '
                'GFLOPs of attention per image, growing with the square of the image size. Set '
                'model.backbone.cluster_size=98 (fixed-size clusters: linear cost) or use a smaller '
                'test scale.', stacklevel=2)


class SecViTHead(nn.Module):
    """The released classifier: 1x1 conv to ``hidden_size``, BN, SiLU, global average pool, Linear.

    Args:
        in_channels (int): channels of the last stage.
        num_classes (int): classes; 0 builds no Linear (the pooled features are the output).
        hidden_size (int): channels of the 1x1 projection. Defaults to 1024 (released).
        global_pool (str): 'avg' or '' (no pooling: the projected map is the output).
    """

    def __init__(self, in_channels: int, num_classes: int = 1000, hidden_size: int = 1024,
                 global_pool: str = 'avg') -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_size, 1)
        self.norm = nn.BatchNorm2d(hidden_size)
        self.act = nn.SiLU()
        self.global_pool = global_pool
        self.fc = nn.Linear(hidden_size, num_classes) if num_classes else nn.Identity()

    def reset(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        if global_pool is not None:
            self.global_pool = global_pool
        self.fc = nn.Linear(self.proj.out_channels, num_classes) if num_classes else nn.Identity()

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.act(self.norm(self.proj(x)))
        if not self.global_pool:
            return x
        x = x.mean((2, 3))
        return x if pre_logits else self.fc(x)


# ------------------------------------------------------------------------------------------------
# Released checkpoints (``KClusterFormerSimpleNew``: ``patch_embed.proj``, ``layers.{i}.blocks.{j}``,
# ``proj`` / ``norm`` / ``head``) -> the keys of an mmpretrain ``ImageClassifier`` holding SecViT
# (``backbone.``, ``neck.``, ``head.fc.``), checked against a SecViT built on the ``meta`` device.

_RELEASED_RULES = [
    (r'^patch_embed\.proj\.', 'backbone.stem.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.pos\.', r'backbone.stages.\1.blocks.\2.cpe.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.norm([12])\.norm\.', r'backbone.stages.\1.blocks.\2.norm\3.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.gamma_([12])$', r'backbone.stages.\1.blocks.\2.layer_scale_\3'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.(attn|ffn)\.', r'backbone.stages.\1.blocks.\2.\3.'),
    (r'^layers\.(\d+)\.downsample\.reduction\.', r'backbone.stages.\1.downsample.conv.'),
    (r'^layers\.(\d+)\.downsample\.norm\.', r'backbone.stages.\1.downsample.norm.'),
    (r'^proj\.', 'neck.proj.'),
    (r'^norm\.', 'neck.norm.'),
    (r'^head\.', 'head.fc.'),
]


def is_released_secvit_layout(state_dict: Dict[str, Tensor]) -> bool:
    return any(k.startswith('patch_embed.proj.') for k in state_dict) and \
        any(k.startswith('layers.') for k in state_dict)


def infer_secvit_arch(state_dict: Dict[str, Tensor]) -> dict:
    """embed_dims / depths / num_heads / layer_scale read off a released-layout state dict."""
    try:
        embed_dims, depths, num_heads, layer_scale = [], [], [], []
        for i in range(SecViT.num_stages):
            blocks = {int(m.group(1)) for k in state_dict
                      for m in [re.match(rf'layers\.{i}\.blocks\.(\d+)\.', k)] if m}
            depths.append(len(blocks))
            embed_dims.append(state_dict[f'layers.{i}.blocks.0.pos.weight'].shape[0])
            angle = state_dict.get(f'layers.{i}.RoPE.angle')
            head_dim = 2 * angle.numel() if angle is not None else None
            num_heads.append(embed_dims[-1] // head_dim if head_dim else None)
            layer_scale.append(f'layers.{i}.blocks.0.gamma_1' in state_dict)
    except KeyError as err:
        raise ValueError(f'Not a released SecViT checkpoint: missing key {err}') from None
    return dict(embed_dims=embed_dims, depths=depths, num_heads=num_heads, layer_scale=layer_scale)


def match_secvit_arch(settings: dict) -> Optional[str]:
    """Name of the arch_zoo entry with these dims/depths (heads when known), else None."""
    for name in ('tiny', 'small', 'base', 'large'):
        zoo = SecViT.arch_zoo[name]
        if zoo['embed_dims'] == list(settings['embed_dims']) and zoo['depths'] == list(settings['depths']) \
                and all(h is None or h == z for h, z in zip(settings['num_heads'], zoo['num_heads'])):
            return name
    return None


def convert_secvit_checkpoint(state_dict: Dict[str, Tensor], arch: Optional[str] = None) -> Dict[str, Tensor]:
    """Released SecViT state dict -> mmpretrain ``ImageClassifier`` keys (``backbone.``, ``neck.``, ``head.fc.``).

    Args:
        state_dict: the released ``model`` (or ``model_ema``) state dict.
        arch: if given, the checkpoint must be this arch; otherwise it is inferred.

    Raises:
        ValueError: the dict is not in the released layout, is of another arch than ``arch``, or
            any key is missing, unexpected or of the wrong shape for its arch (all named).
    """
    if not is_released_secvit_layout(state_dict):
        raise ValueError('Not a released SecViT checkpoint: expected keys starting with '
                         f"'patch_embed.proj.' and 'layers.', got e.g. {sorted(state_dict)[:5]}")
    settings = infer_secvit_arch(state_dict)
    found = match_secvit_arch(settings)
    if arch is not None:
        wanted = SecViT.resolve_arch(arch)
        if found is None or SecViT.arch_zoo[found]['embed_dims'] != wanted['embed_dims'] or \
                SecViT.arch_zoo[found]['depths'] != wanted['depths']:
            raise ValueError(f'Checkpoint arch mismatch: expected SecViT {arch!r} (embed_dims '
                             f"{wanted['embed_dims']}, depths {wanted['depths']}), the checkpoint has "
                             f"embed_dims {settings['embed_dims']}, depths {settings['depths']}"
                             + (f' (= {found!r})' if found else ''))
    if found is None:
        raise ValueError(f"Checkpoint matches no SecViT arch: embed_dims {settings['embed_dims']}, "
                         f"depths {settings['depths']}, heads {settings['num_heads']}")

    converted: Dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        if re.match(r'^layers\.\d+\.RoPE\.angle$', key):
            continue  # regenerated from head_dim
        for pattern, repl in _RELEASED_RULES:
            new_key, hits = re.subn(pattern, repl, key)
            if hits:
                if new_key == 'head.fc.weight' and value.dim() == 4:
                    value = value.flatten(1)  # 1x1 conv classifier -> Linear
                converted[new_key] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'Unexpected keys in the released SecViT checkpoint: {unknown[:10]}'
                         + (f' (+{len(unknown) - 10} more)' if len(unknown) > 10 else ''))
    # Check every backbone key against a model of that arch, so a damaged file never half-loads.
    with torch.device('meta'):  # shapes only: no memory, no init cost
        reference = SecViT(arch=found).state_dict()
    got = {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}
    problems = describe_state_dict_mismatch(reference, got)
    if problems:
        raise ValueError(f'Released SecViT-{found} checkpoint does not match the model: {problems}')
    return converted
