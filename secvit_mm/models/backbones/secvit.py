"""SecViT: Semantic Equitable Clustering Vision Transformer (arXiv 2405.13337).

A four-stage NCHW pyramid (strides 4 / 8 / 16 / 32) whose blocks are
``x + cpe(x)``, ``x + attn(ln(x))`` with SEC attention, ``x + ffn(ln(x))``. Exact to the authors'
released classification model (``KClusterFormerSimpleNew``; their ``_M`` is SecViT-B here), with
two additions for dense prediction: any input size (uneven clusters are padded and masked), and an
optional fixed ``cluster_size`` whose cost grows linearly with the image.

The released checkpoints use other module names; :func:`convert_secvit_checkpoint` maps them.
"""
import copy
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..layers import ConvFFN, LayerNorm2d, RotaryEmbedding2d, SECAttention
from ..pretrained import describe_state_dict_mismatch, load_pretrained_backbone
from ..input_checks import KeywordCheck, _checking, check_finite
from .base import FrozenStagesMixin, check_stage_args, init_transformer_weights

__all__ = ['SecViT', 'convert_secvit_checkpoint', 'infer_secvit_arch']

ClusterSpec = Union[None, int, Sequence[Optional[int]]]

# The paper's clusters per stage; stage 4 runs global attention.
PAPER_NUM_CLUSTERS = (32, 8, 2, None)


class ConvStem(nn.Sequential):
    """Four 3x3 convs (strides 2, 1, 1, 2) with BN; GELU between, none at the end. Stride 4.

    A Sequential so that its indices match the released ``patch_embed.proj.{0..10}`` keys.
    """

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        mid = embed_dims // 2
        super().__init__(
            nn.Conv2d(in_channels, mid, 3, 2, 1), nn.BatchNorm2d(mid), nn.GELU(),
            nn.Conv2d(mid, mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.GELU(),
            nn.Conv2d(mid, mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.GELU(),
            nn.Conv2d(mid, embed_dims, 3, 2, 1), nn.BatchNorm2d(embed_dims))


class PatchStem(nn.Module):
    """4x4 stride-4 conv + LayerNorm over channels: the ViT / Swin patch embedding (ablation stem)."""

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, 4, 4)
        self.norm = LayerNorm2d(embed_dims, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        # Pad bottom/right to a multiple of 4 so the grid is ceil(H / 4) x ceil(W / 4), as with ConvStem.
        pad_h, pad_w = -x.shape[2] % 4, -x.shape[3] % 4
        if pad_h or pad_w:
            x = nn.functional.pad(x, (0, pad_w, 0, pad_h))
        return self.norm(self.proj(x))


class ConvDownsample(nn.Module):
    """3x3 stride-2 conv + BN between stages (no activation)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(x))


class SecViTBlock(nn.Module):
    """``x + cpe(x)``; ``x + drop_path(gamma1 * attn(ln1(x)))``; ``x + drop_path(gamma2 * ffn(ln2(x)))``.

    Args:
        embed_dims: channels.
        num_heads: attention heads.
        num_clusters / cluster_size: SEC clustering (see :class:`SECAttention`).
        mlp_ratio: hidden channels of the FFN over ``embed_dims``.
        drop_path: stochastic depth rate of this block.
        layer_scale_init_value: initial value of per-channel residual scales; 0 disables them.
        use_cpe: the depthwise 3x3 conditional position encoding.
        use_lepe: the depthwise 5x5 local enhancement of v in attention.
        grouping: 'semantic' (SEC) or 'spatial' (fixed windows, the ablation baseline).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_clusters: Optional[int],
                 cluster_size: Optional[int],
                 mlp_ratio: float = 3.,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 0.,
                 use_cpe: bool = True,
                 use_lepe: bool = True,
                 grouping: str = 'semantic') -> None:
        super().__init__()
        self.cpe = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, groups=embed_dims) if use_cpe else None
        self.norm1 = LayerNorm2d(embed_dims, eps=1e-6)
        self.attn = SECAttention(embed_dims, num_heads, num_clusters, cluster_size, use_lepe=use_lepe,
                                 grouping=grouping)
        self.norm2 = LayerNorm2d(embed_dims, eps=1e-6)
        self.ffn = ConvFFN(embed_dims, int(mlp_ratio * embed_dims))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if layer_scale_init_value > 0:
            self.layer_scale_1 = nn.Parameter(torch.full((1, embed_dims, 1, 1), layer_scale_init_value))
            self.layer_scale_2 = nn.Parameter(torch.full((1, embed_dims, 1, 1), layer_scale_init_value))
        else:
            self.layer_scale_1 = self.layer_scale_2 = None

    def forward(self, x: Tensor, rope: Tuple[Tensor, Tensor]) -> Tensor:
        # Sums are taken in place into the branch's fresh output (a conv output nothing saved for
        # backward), not into a new buffer: same values, one large allocation less each.
        if self.cpe is not None:
            x = self.cpe(x).add_(x)
        x = self._residual(x, self.attn(self.norm1(x), rope), self.layer_scale_1)
        return self._residual(x, self.ffn(self.norm2(x)), self.layer_scale_2)

    def _residual(self, x: Tensor, branch: Tensor, scale: Optional[Tensor]) -> Tensor:
        """``x + drop_path(scale * branch)``."""
        if scale is not None:
            branch = scale * branch
        if self.training and not isinstance(self.drop_path, nn.Identity):
            return x + self.drop_path(branch)
        return branch.add_(x)  # drop path is the identity


class SecViTStage(nn.Module):
    """Blocks at one resolution sharing RoPE tables, then an optional downsample.

    The stage's feature for dense prediction is taken before the downsample.
    """

    def __init__(self, blocks: List[SecViTBlock], head_dim: int, downsample: Optional[nn.Module],
                 with_cp: bool = False) -> None:
        super().__init__()
        self.rope = RotaryEmbedding2d(head_dim)
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample
        self.with_cp = with_cp

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Returns (feature before downsample, input of the next stage)."""
        rope = self.rope.tables(x.shape[2], x.shape[3])
        for block in self.blocks:
            if self.with_cp and self.training and x.requires_grad:
                x = cp.checkpoint(block, x, rope, use_reentrant=False)
            else:
                x = block(x, rope)
        return x, (self.downsample(x) if self.downsample is not None else x)


def _per_stage(value: ClusterSpec, name: str, num_stages: int) -> Tuple[Optional[int], ...]:
    """An int applies to the clustered stages (all but the last, which stays global)."""
    if value is None:
        return (None, ) * num_stages
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, ) * (num_stages - 1) + (None, )
    if isinstance(value, (list, tuple)) and len(value) == num_stages:
        stages = tuple(None if v in (None, -1) else v for v in value)
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1) for v in stages):
            return stages
    raise ValueError(f'{name} must be None, a positive int (stages 1-{num_stages - 1}; the last stays '
                     f'global) or a sequence of {num_stages} positive ints / None (global), got {value!r}')


@MODELS.register_module()
class SecViT(KeywordCheck, FrozenStagesMixin, BaseModule):
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
        frozen_stages: freeze the stem (0) and stages up to this index (1-4); -1 freezes nothing.
        norm_eval: keep BatchNorm layers in eval mode while training. Default False.
        with_cp: activation checkpointing of each block (less memory, more compute).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
            Released SecViT checkpoints are converted on the fly; missing, unexpected or mis-shaped
            keys are an error.

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
    num_stages = 4
    min_input_size = 32  # the total stride: smaller images vanish before stage 4

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 num_clusters: ClusterSpec = PAPER_NUM_CLUSTERS,
                 cluster_size: ClusterSpec = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: Optional[float] = None,
                 layer_scale_init_value: float = 1e-6,
                 use_cpe: bool = True,
                 use_lepe: bool = True,
                 stem_type: str = 'conv',
                 attn_type: str = 'sec',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._resolve_arch(arch)
        embed_dims = self.arch_settings['embed_dims']
        depths = self.arch_settings['depths']
        num_heads = self.arch_settings['num_heads']
        if drop_path_rate is None:
            drop_path_rate = self.arch_settings.get('drop_path_rate', 0.)
        out_indices = check_stage_args(self.num_stages, out_indices, frozen_stages, drop_path_rate, in_channels)
        layer_scale = self.arch_settings.get('layer_scale', [False] * self.num_stages)

        if stem_type not in ('conv', 'patch'):
            raise ValueError(f"stem_type must be 'conv' or 'patch', got {stem_type!r}")
        if attn_type not in ('sec', 'window'):
            raise ValueError(f"attn_type must be 'sec' or 'window', got {attn_type!r}")
        self.stem_type = stem_type
        self.attn_type = attn_type

        self.in_channels = in_channels
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.embed_dims = list(embed_dims)
        self.num_clusters = _per_stage(num_clusters, 'num_clusters', self.num_stages)
        self.cluster_size = _per_stage(cluster_size, 'cluster_size', self.num_stages)
        if cluster_size is not None:  # precedence: fixed-size clusters replace the counts
            self.num_clusters = (None, ) * self.num_stages

        self.stem = (ConvStem if stem_type == 'conv' else PatchStem)(in_channels, embed_dims[0])
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            blocks = [
                SecViTBlock(
                    embed_dims[i], num_heads[i], self.num_clusters[i], self.cluster_size[i],
                    mlp_ratio=self.arch_settings.get('mlp_ratio', 3.),
                    drop_path=dpr[sum(depths[:i]) + j],
                    layer_scale_init_value=layer_scale_init_value if layer_scale[i] else 0.,
                    use_cpe=use_cpe, use_lepe=use_lepe,
                    grouping='semantic' if attn_type == 'sec' else 'spatial') for j in range(depths[i])
            ]
            downsample = ConvDownsample(embed_dims[i], embed_dims[i + 1]) if i < self.num_stages - 1 else None
            self.stages.append(SecViTStage(blocks, embed_dims[i] // num_heads[i], downsample, with_cp))
        self.num_features = [embed_dims[i] for i in self.out_indices]
        self.apply(init_transformer_weights)
        self._freeze_stages()

    @classmethod
    def _resolve_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'Unknown SecViT arch {arch!r}; choose one of {sorted(set(cls.arch_zoo))} '
                                 'or pass a dict with embed_dims, depths and num_heads')
            return copy.deepcopy(cls.arch_zoo[key])
        if isinstance(arch, dict):
            required = {'embed_dims', 'depths', 'num_heads'}
            allowed = required | {'mlp_ratio', 'drop_path_rate', 'layer_scale'}
            if not required <= set(arch) or not set(arch) <= allowed:
                raise ValueError(f'A custom SecViT arch needs the keys {sorted(required)} (optional: '
                                 f'{sorted(allowed - required)}), got {sorted(arch)}')
            settings = copy.deepcopy(dict(arch))
            for key in ('embed_dims', 'depths', 'num_heads'):
                if len(settings[key]) != cls.num_stages:
                    raise ValueError(f'arch[{key!r}] needs {cls.num_stages} values, got {settings[key]}')
            for dims, heads in zip(settings['embed_dims'], settings['num_heads']):
                if dims % heads or (dims // heads) % 4:
                    raise ValueError(f'embed_dims {dims} with {heads} heads: head_dim must be an integer '
                                     'divisible by 4 (2D RoPE)')
            return settings
        raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')

    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            # Own loading instead of mmengine's PretrainedInit: converts released checkpoints and
            # refuses a half-matching one instead of warning and training from a broken start.
            load_pretrained_backbone(self, self.init_cfg, convert_secvit_checkpoint, is_released_secvit_layout)
            self._is_init = True
        else:
            super().init_weights()

    def check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'SecViT expects an (N, C, H, W) tensor, got {shape}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'SecViT was built for {self.in_channels} input channels, got {x.shape[1]} '
                             f'(input shape {tuple(x.shape)}); set in_channels={x.shape[1]} or fix the data')
        if x.shape[0] == 0 or min(x.shape[2:]) < self.min_input_size:
            raise ValueError(f'SecViT needs a non-empty batch of images at least {self.min_input_size}x'
                             f'{self.min_input_size} (its total stride), got {tuple(x.shape)}')
        check_finite('SecViT', x)

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
        if getattr(self, '_cost_warned', False) or not _checking():
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

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        self.check_input(x)
        self._warn_if_costly(x)
        # Channels-last inside: depthwise convs, LayerNorm over channels and the token-major
        # attention all want it. The outputs are plain contiguous NCHW again.
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        outs = []
        for i, stage in enumerate(self.stages):
            feature, x = stage(x)
            if i in self.out_indices:
                outs.append(feature.contiguous())
            if i >= max(self.out_indices):
                break  # later stages feed no requested output
        return tuple(outs)

    def frozen_modules(self) -> List[nn.Module]:
        return [self.stem, *self.stages[:self.frozen_stages]]


# ----------------------------------------------------------------------------------------------
# Released checkpoint -> this package's names
# ----------------------------------------------------------------------------------------------
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
        wanted = SecViT._resolve_arch(arch)
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
    reference = SecViT(arch=found).state_dict()
    got = {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}
    problems = describe_state_dict_mismatch(reference, got)
    if problems:
        raise ValueError(f'Released SecViT-{found} checkpoint does not match the model: {problems}')
    return converted
