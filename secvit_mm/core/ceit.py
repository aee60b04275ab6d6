"""CeiT: a DeiT-style ViT with a convolutional stem, LeFF and layer-wise class-token attention.

"Incorporating Convolution Designs into Visual Transformers" (Yuan et al., arXiv 2103.11816).
The module layout follows the authors' released model; ``convert_ceit_checkpoint`` (in this file,
beside the model it serves) maps its checkpoints to the keys used here (``backbone.*`` /
``head.fc.*`` of an mmpretrain classifier).

Pure torch: the mm backbone (``secvit_mm.models.backbones.CeiT``) and the timm models
(``ceit_tiny`` ...) are thin shells over the classes here.
"""
import logging
import math
import re
from collections import OrderedDict
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from .backbone import Backbone, take_indices
from .checks import describe_state_dict_mismatch
from .layers import DropPath, NormLayer, pad_to_multiple, trunc_normal_icdf_
from .tracing import static_shapes

__all__ = ['CeiT', 'convert_ceit_checkpoint', 'is_released_ceit_layout', 'resize_pos_embed']

PATCH_SIZE = 16  # effective patch: I2T stride 4 x patch projection stride 4
LN_EPS = 1e-6


class ImageToTokens(nn.Module):
    """I2T stem: conv7x7/2 + BN + maxpool3x3/2 (no activation), then a 4x4/4 patch projection.

    Args:
        in_channels (int): Image channels.
        embed_dims (int): Token width D.
        stem_channels (int): Width of the convolutional stem. Defaults to 64.
        norm_layer (callable): Norm layer of the stem. Defaults to ``nn.BatchNorm2d``.
    """

    def __init__(self, in_channels: int, embed_dims: int, stem_channels: int = 64,
                 norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn = norm_layer(stem_channels)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.proj = nn.Conv2d(stem_channels, embed_dims, 4, stride=4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj(self.pool(self.bn(self.conv(x))))
        h, w = x.shape[-2:]
        return x.flatten(2).transpose(1, 2), (h, w)


class SelfAttention(nn.Module):
    """Multi-head self-attention over all tokens (fused qkv projection)."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def _split_heads(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        return qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, head_dim)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        drop = self.attn_drop if self.training else 0.
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)  # scale head_dim ** -0.5
        B, _, N, _ = out.shape
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(B, N, -1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._attend(*self._split_heads(x))


class LastTokenAttention(SelfAttention):
    """Attention in which only the last token queries; keys and values come from all tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split_heads(x)
        return self._attend(q[:, :, -1:], k, v)  # (B, 1, D)


class ConvBN(nn.Sequential):
    """Conv2d (with bias, as released) followed by a norm layer."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, groups: int = 1,
                 norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__(OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                           groups=groups),
            bn=norm_layer(out_channels)))


class LeFF(nn.Module):
    """Locally-enhanced feed-forward: 1x1 expand, depthwise 3x3, 1x1 reduce on the token map.

    The class token is passed through untouched (the released model does this), and, as in the
    released code, the reduce conv + BN has no activation after it.

    Args:
        embed_dims (int): Token width D.
        expansion (int): Hidden width is ``expansion * D``. Defaults to 4.
        kernel_size (int): Depthwise kernel. Defaults to 3.
        norm_layer (callable): Norm layer after each conv. Defaults to ``nn.BatchNorm2d``.
    """

    def __init__(self, embed_dims: int, expansion: int = 4, kernel_size: int = 3,
                 norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        hidden = embed_dims * expansion
        self.expand = ConvBN(embed_dims, hidden, 1, norm_layer=norm_layer)
        self.depthwise = ConvBN(hidden, hidden, kernel_size, groups=hidden,
                                norm_layer=norm_layer)
        self.reduce = ConvBN(hidden, embed_dims, 1, norm_layer=norm_layer)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        cls_token, patches = x[:, :1], x[:, 1:]
        B, N, C = patches.shape
        fmap = patches.transpose(1, 2).reshape(B, C, *hw)
        fmap = self.reduce(self.act(self.depthwise(self.act(self.expand(fmap)))))
        return torch.cat([cls_token, fmap.flatten(2).transpose(1, 2)], dim=1)


class CeiTBlock(nn.Module):
    """Pre-norm encoder block: ``x + MHSA(ln1(x))`` then ``x + LeFF(ln2(x))``."""

    def __init__(self, embed_dims: int, num_heads: int, leff_expansion: int = 4,
                 qkv_bias: bool = True, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.attn = SelfAttention(embed_dims, num_heads, qkv_bias, attn_drop_rate, drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.leff = LeFF(embed_dims, leff_expansion, norm_layer=norm_layer)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.ln1(x)))
        return x + self.drop_path(self.leff(self.ln2(x), (h, w)))


class MLP(nn.Sequential):
    """Linear - GELU - Linear (the LCA feed-forward)."""

    def __init__(self, embed_dims: int, hidden_dims: int, drop: float = 0.) -> None:
        super().__init__(OrderedDict(
            fc1=nn.Linear(embed_dims, hidden_dims), act=nn.GELU(), drop1=nn.Dropout(drop),
            fc2=nn.Linear(hidden_dims, embed_dims), drop2=nn.Dropout(drop)))


class LayerwiseClassAttention(nn.Module):
    """LCA: the class tokens of all blocks attend once; the last one is the query and the output.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Attention heads.
        num_layers (int): Number of class tokens stacked (one per encoder block).
        mlp_ratio (int): Hidden width of the MLP is ``mlp_ratio * D``. Defaults to 4.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
        drop_rate (float): Dropout after the projections. Defaults to 0.
        attn_drop_rate (float): Dropout on attention weights. Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_layers: int, mlp_ratio: int = 4,
                 qkv_bias: bool = True, drop_rate: float = 0., attn_drop_rate: float = 0.) -> None:
        super().__init__()
        # Tells LCA which block each class token came from; zeros at init (released model).
        self.layer_embed = nn.Parameter(torch.zeros(1, num_layers, embed_dims))
        self.ln1 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.attn = LastTokenAttention(embed_dims, num_heads, qkv_bias, attn_drop_rate, drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.ffn = MLP(embed_dims, embed_dims * mlp_ratio, drop_rate)

    def forward(self, cls_tokens: torch.Tensor) -> torch.Tensor:
        """(B, num_layers, D) -> (B, D)."""
        x = cls_tokens + self.layer_embed
        x = x[:, -1:] + self.attn(self.ln1(x))
        x = x + self.ffn(self.ln2(x))
        return x[:, 0]


class SimpleFeaturePyramid(nn.Module):
    """ViTDet-style pyramid from four stride-16 maps to strides 4, 8, 16 and 32.

    Map k goes through level k: two 2x deconvs (with norm + GELU between) for stride 4, one 2x
    deconv for stride 8, identity for 16, 2x2 max-pool (ceil mode) for 32.
    """

    def __init__(self, embed_dims: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.up4x = nn.Sequential(OrderedDict(
            deconv1=nn.ConvTranspose2d(embed_dims, embed_dims, 2, stride=2),
            norm=norm_layer(embed_dims),
            act=nn.GELU(),
            deconv2=nn.ConvTranspose2d(embed_dims, embed_dims, 2, stride=2)))
        self.up2x = nn.ConvTranspose2d(embed_dims, embed_dims, 2, stride=2)
        self.keep = nn.Identity()
        self.down2x = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    def forward(self, maps: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        levels = (self.up4x, self.up2x, self.keep, self.down2x)
        return tuple(level(m) for level, m in zip(levels, maps))


def _arch(embed_dims: int, num_heads: int, img_size: int = 224) -> dict:
    return dict(embed_dims=embed_dims, num_layers=12, num_heads=num_heads, leff_expansion=4,
                img_size=img_size)


class CeiT(Backbone):
    """CeiT backbone: `Incorporating Convolution Designs into Visual Transformers
    <https://arxiv.org/abs/2103.11816>`_.

    Any input size is accepted. The image is zero-padded on the bottom/right to a multiple of 16,
    so the token grid is ``(ceil(H / 16), ceil(W / 16))``; the position embedding is resized to that
    grid on the fly (bicubic, class slot kept) and is used as is when the grid matches ``img_size``.

    Bad inputs raise a ValueError naming the problem: not a (B, C, H, W) tensor, an empty batch,
    another channel count than ``in_channels``, a side under 16 px (one token), NaN / inf values
    (an error rather than a warning: attention spreads them to every token; skipped while
    tracing/exporting). Unknown keyword arguments raise a TypeError listing the valid ones.

    Outputs:

    - ``out_type='cls'``: a 1-tuple with the LCA class-token feature after the final LayerNorm,
      shape (B, D), ready for mmpretrain's ``LinearClsHead``.
    - ``out_type='featmap'``: a 4-tuple of (B, D, h_k, w_k) maps at strides 4, 8, 16, 32 of the
      padded image, built from the token maps of the four blocks in ``out_indices``. With
      ``(h, w) = (ceil(H / 16), ceil(W / 16))`` the sizes are ``(4h, 4w)``, ``(2h, 2w)``, ``(h, w)``
      and ``(ceil(h / 2), ceil(w / 2))``. LCA and the final norm are not built in this mode, nor
      blocks after the last of ``out_indices`` (no unused parameters under DDP); their keys are
      dropped when a classification checkpoint is loaded.

    Args:
        arch (str | dict): CeiT variant. A string from ``CeiT.arch_zoo`` ('tiny'/'t', 'small'/'s',
            'base'/'b', 'tiny-384'/'t-384', 'small-384'/'s-384'), or a dict with keys
            ``embed_dims``, ``num_layers``, ``num_heads`` and optionally ``leff_expansion``
            (default 4) and ``img_size`` (default 224). Defaults to 'tiny'.
        img_size (int | tuple[int, int], optional): Training image size; fixes the number of
            position-embedding slots ``1 + (H // 16) * (W // 16)``. Defaults to None, meaning the
            arch's size (224, or 384 for the '-384' variants).
        in_channels (int): Input image channels. Defaults to 3.
        out_type (str): ``'cls'`` or ``'featmap'`` (see above). Defaults to ``'cls'``.
        out_indices (Sequence[int]): Zero-based blocks whose token maps feed the four pyramid
            levels (stride 4, 8, 16, 32 in this order); negative indices count from the end.
            Only used with ``out_type='featmap'``. Defaults to (3, 5, 8, 11).
        qkv_bias (bool): Bias in the qkv projections. Defaults to True.
        drop_rate (float): Dropout after the position embedding and the projections.
            Defaults to 0.
        attn_drop_rate (float): Dropout on attention weights. Defaults to 0.
        drop_path_rate (float): Stochastic depth, rising linearly to this value over the blocks.
            Defaults to 0.
        norm_layer (callable): Norm layer of the I2T stem and LeFF convs, called with the
            channels. Defaults to ``nn.BatchNorm2d`` (released).
        pyramid_norm_layer (callable): Norm layer between the two deconvs of the stride-4 pyramid
            level. Defaults to ``GroupNorm(32, C)``.
        grad_checkpointing (bool): Gradient checkpointing of each block to save memory.
            Defaults to False.
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], _arch(192, 3)),
        **dict.fromkeys(['s', 'small'], _arch(384, 6)),
        **dict.fromkeys(['b', 'base'], _arch(768, 12)),
        **dict.fromkeys(['t-384', 'tiny-384'], _arch(192, 3, img_size=384)),
        **dict.fromkeys(['s-384', 'small-384'], _arch(384, 6, img_size=384)),
    }
    arch_required = ('embed_dims', 'num_layers', 'num_heads')
    arch_optional = ('leff_expansion', 'img_size')
    min_input_size = PATCH_SIZE
    min_input_reason = 'one token'
    OUT_TYPES = ('cls', 'featmap')

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 img_size: Optional[Union[int, Tuple[int, int]]] = None,
                 in_channels: int = 3,
                 out_type: str = 'cls',
                 out_indices: Sequence[int] = (3, 5, 8, 11),
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_layer: NormLayer = nn.BatchNorm2d,
                 pyramid_norm_layer: NormLayer = partial(nn.GroupNorm, 32),
                 grad_checkpointing: bool = False) -> None:
        super().__init__()
        self.arch_settings = self.resolve_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.num_heads = self.arch_settings['num_heads']
        if out_type not in self.OUT_TYPES:
            raise ValueError(f"CeiT: unknown out_type {out_type!r}; choose from {self.OUT_TYPES}")
        self.out_type = out_type
        self.in_channels = in_channels

        if img_size is None:
            img_size = self.arch_settings.get('img_size', 224)
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.pos_grid = (self.img_size[0] // PATCH_SIZE, self.img_size[1] // PATCH_SIZE)
        if min(self.pos_grid) < 1:
            raise ValueError(f'CeiT: img_size must be at least {PATCH_SIZE}, got {self.img_size}')

        self.out_indices = self._resolve_out_indices(out_indices) if out_type == 'featmap' else ()
        # Blocks after the last tapped one would get no gradient in featmap mode.
        num_built = self.out_indices[-1] + 1 if out_type == 'featmap' else self.num_layers

        D = self.embed_dims
        self.i2t = ImageToTokens(in_channels, D, norm_layer=norm_layer)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.pos_grid[0] * self.pos_grid[1], D))
        self.drop_after_pos = nn.Dropout(drop_rate)
        # Python floats, not torch.linspace: the converter builds this model on the meta device.
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1) for i in range(self.num_layers)]
        self.layers = nn.ModuleList([
            CeiTBlock(D, self.num_heads, self.arch_settings.get('leff_expansion', 4), qkv_bias,
                      drop_rate, attn_drop_rate, dpr[i], norm_layer)
            for i in range(num_built)
        ])
        if out_type == 'cls':
            self.lca = LayerwiseClassAttention(D, self.num_heads, self.num_layers, 4, qkv_bias,
                                               drop_rate, attn_drop_rate)
            self.final_norm = nn.LayerNorm(D, eps=LN_EPS)
        else:
            self.pyramid = SimpleFeaturePyramid(D, pyramid_norm_layer)

        self.grad_checkpointing = grad_checkpointing
        self._register_load_state_dict_pre_hook(self._adapt_state_dict)

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def check_arch(cls, settings: dict) -> None:
        if settings['embed_dims'] % settings['num_heads']:
            raise ValueError(f"CeiT: embed_dims {settings['embed_dims']} is not divisible by "
                             f"num_heads {settings['num_heads']}")

    def _resolve_out_indices(self, out_indices: Sequence[int]) -> Tuple[int, ...]:
        if isinstance(out_indices, int) or len(out_indices) != 4:
            raise ValueError('CeiT: out_type="featmap" needs exactly 4 out_indices (one per '
                             f'pyramid level, stride 4/8/16/32), got {out_indices!r}')
        resolved = []
        for i in out_indices:
            if not -self.num_layers <= i < self.num_layers:
                raise ValueError(f'CeiT: out index {i} out of range for {self.num_layers} blocks')
            resolved.append(i % self.num_layers)
        if resolved != sorted(set(resolved)):
            raise ValueError('CeiT: out_indices must be distinct and increasing, '
                             f'got {out_indices}')
        return tuple(resolved)

    @staticmethod
    def init_module(module: nn.Module) -> None:
        # DeiT's init: trunc-normal linears, unit LayerNorms; convs and BNs keep PyTorch's.
        if isinstance(module, nn.Linear):
            trunc_normal_icdf_(module.weight, std=.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def init_parameters(self) -> None:
        trunc_normal_icdf_(self.cls_token, std=.02)
        trunc_normal_icdf_(self.pos_embed, std=.02)
        if hasattr(self, 'lca'):
            nn.init.zeros_(self.lca.layer_embed)

    def _adapt_state_dict(self, state_dict: dict, prefix: str, *args) -> None:
        """Load hook: resize a checkpoint's position embedding to this model's grid, and drop the
        keys of modules this mode does not build (LCA, final norm, unused blocks)."""
        if not hasattr(self, 'lca'):
            unused = (f'{prefix}lca.', f'{prefix}final_norm.')
            layer_key = re.compile(re.escape(prefix) + r'layers\.(\d+)\.')
            for key in list(state_dict):
                m = layer_key.match(key)
                if key.startswith(unused) or (m and int(m.group(1)) >= len(self.layers)):
                    del state_dict[key]
        key = prefix + 'pos_embed'
        if key not in state_dict or state_dict[key].shape == self.pos_embed.shape:
            return
        ckpt = state_dict[key]
        side = math.isqrt(ckpt.shape[1] - 1) if ckpt.dim() == 3 else 0
        if ckpt.dim() != 3 or side * side != ckpt.shape[1] - 1 or ckpt.shape[2] != self.embed_dims:
            if not args:
                return  # called by the pretrained loader: its key-by-key report names the mismatch
            raise ValueError(f'CeiT: cannot load pos_embed of shape {tuple(ckpt.shape)}: expected '
                             f'(1, 1 + n * n, {self.embed_dims}) to resize to '
                             f'{tuple(self.pos_embed.shape)}')
        self.log_info(f'CeiT: resizing pos_embed from grid {side}x{side} to '
                      f'{self.pos_grid[0]}x{self.pos_grid[1]}')
        state_dict[key] = resize_pos_embed(ckpt, (side, side), self.pos_grid)

    def log_info(self, message: str) -> None:
        """Where the model reports what it adapted (the mm shell: mmengine's current logger)."""
        logging.getLogger(__name__).info(message)

    # ---------------------------------------------------------------------------------- forward
    def _pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        # While exporting, the grid is symbolic: a shape test would freeze the export size into the
        # graph, so always resize (bicubic at the same size is the identity).
        if static_shapes() and grid == self.pos_grid:
            return self.pos_embed
        return resize_pos_embed(self.pos_embed, self.pos_grid, grid)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        cls_tokens, maps = self.run_blocks(x, self.out_indices, len(self.layers) - 1)
        if self.out_type == 'cls':
            return (self.final_norm(self.lca(cls_tokens)), )
        return self.pyramid(maps)

    def run_blocks(self, x: torch.Tensor, indices: Sequence[int],
                   last: int) -> Tuple[Optional[torch.Tensor], List[torch.Tensor]]:
        """Blocks ``0..last``: (their class tokens stacked, (B, blocks, D), when LCA is built; the
        (B, D, h, w) token maps of the blocks in ``indices``)."""
        self.check_input(x)
        # Pad so 16-pixel patches tile the image (the stem would silently crop otherwise).
        tokens, (h, w) = self.i2t(pad_to_multiple(x, PATCH_SIZE))
        B = tokens.shape[0]
        tokens = torch.cat([self.cls_token.expand(B, -1, -1), tokens], dim=1)
        tokens = self.drop_after_pos(tokens + self._pos_embed_for((h, w)))

        cls_tokens, maps = [], []
        for i, layer in enumerate(self.layers[:last + 1]):
            if self.grad_checkpointing and self.training:
                tokens = cp.checkpoint(layer, tokens, h, w, use_reentrant=False)
            else:
                tokens = layer(tokens, h, w)
            if hasattr(self, 'lca'):
                cls_tokens.append(tokens[:, 0])
            if i in indices:
                maps.append(tokens[:, 1:].transpose(1, 2).reshape(B, self.embed_dims, h, w))
        return (torch.stack(cls_tokens, dim=1) if cls_tokens else None), maps

    # ----------------------------------------------------------------------------- timm's API
    @property
    def feature_info(self) -> List[dict]:
        """timm's description of the block outputs (token maps, stride 16)."""
        return [dict(num_chs=self.embed_dims, reduction=PATCH_SIZE, module=f'layers.{i}')
                for i in range(len(self.layers))]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The class tokens of every block, (B, blocks, D): what LCA attends over."""
        return self.run_blocks(x, (), len(self.layers) - 1)[0]

    def forward_intermediates(self, x: torch.Tensor, indices: Optional[Union[int, Sequence[int]]] = None,
                              norm: bool = False, stop_early: bool = False, output_fmt: str = 'NCHW',
                              intermediates_only: bool = False):
        """The (B, D, h, w) token maps of the blocks in ``indices`` (None: all; an int n: the last n);
        with the final features (:meth:`forward_features`) first unless ``intermediates_only``."""
        if output_fmt != 'NCHW':
            raise ValueError(f"CeiT gives NCHW maps only, got output_fmt={output_fmt!r}")
        taken, max_index = take_indices(len(self.layers), indices)
        last = max_index if intermediates_only or stop_early else len(self.layers) - 1
        cls_tokens, maps = self.run_blocks(x, taken, last)
        return maps if intermediates_only else (cls_tokens, maps)

    def prune_intermediate_layers(self, indices: Optional[Union[int, Sequence[int]]] = None,
                                  prune_norm: bool = False, prune_head: bool = True) -> List[int]:
        """Drop the blocks after the last of ``indices`` (with the head: LCA, final norm, classifier)."""
        taken, max_index = take_indices(len(self.layers), indices)
        self.layers = self.layers[:max_index + 1]
        if prune_head:
            for name in ('lca', 'final_norm'):
                if hasattr(self, name):
                    delattr(self, name)
            if hasattr(self, 'reset_classifier'):
                self.reset_classifier(0)
        return taken

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing of every block while training (less memory, more compute)."""
        self.grad_checkpointing = enable


def resize_pos_embed(pos_embed: torch.Tensor, src_grid: Tuple[int, int],
                     dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Bicubically resize a (1, 1 + h * w, D) position embedding; the class slot is kept."""
    cls_slot, grid = pos_embed[:, :1], pos_embed[:, 1:]
    D = grid.shape[-1]
    grid = grid.reshape(1, *src_grid, D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=dst_grid, mode='bicubic', align_corners=False)
    grid = grid.to(pos_embed.dtype).flatten(2).transpose(1, 2)
    return torch.cat([cls_slot, grid], dim=1)


# ------------------------------------------------------------------------------------------------
# Released CeiT checkpoints -> this package's keys (an mmpretrain ``ImageClassifier`` holding CeiT),
# checked key by key against a CeiT built on the ``meta`` device.

def is_released_ceit_layout(state_dict: Dict[str, torch.Tensor]) -> bool:
    return 'cls_token' in state_dict and any(k.startswith('blocks.') for k in state_dict)


# Released key (regex, full match) -> key of an mmpretrain ImageClassifier holding CeiT.
_RELEASED_TO_MMPRETRAIN = [
    (r'cls_token', r'backbone.cls_token'),
    (r'pos_embed', r'backbone.pos_embed'),
    (r'pos_layer_embed', r'backbone.lca.layer_embed'),
    (r'i2t\.backbone\.(conv|bn)\.(.+)', r'backbone.i2t.\1.\2'),
    (r'i2t\.proj\.(.+)', r'backbone.i2t.proj.\1'),
    (r'blocks\.(\d+)\.norm1\.(.+)', r'backbone.layers.\1.ln1.\2'),
    (r'blocks\.(\d+)\.norm2\.(.+)', r'backbone.layers.\1.ln2.\2'),
    (r'blocks\.(\d+)\.attn\.(qkv|proj)\.(.+)', r'backbone.layers.\1.attn.\2.\3'),
    (r'blocks\.(\d+)\.leff\.conv1\.(.+)', r'backbone.layers.\1.leff.expand.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn1\.(.+)', r'backbone.layers.\1.leff.expand.bn.\2'),
    (r'blocks\.(\d+)\.leff\.conv2\.(.+)', r'backbone.layers.\1.leff.depthwise.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn2\.(.+)', r'backbone.layers.\1.leff.depthwise.bn.\2'),
    (r'blocks\.(\d+)\.leff\.conv3\.(.+)', r'backbone.layers.\1.leff.reduce.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn3\.(.+)', r'backbone.layers.\1.leff.reduce.bn.\2'),
    (r'lca\.norm1\.(.+)', r'backbone.lca.ln1.\1'),
    (r'lca\.norm2\.(.+)', r'backbone.lca.ln2.\1'),
    (r'lca\.attn\.(qkv|proj)\.(.+)', r'backbone.lca.attn.\1.\2'),
    (r'lca\.feedforward\.(fc1|fc2)\.(.+)', r'backbone.lca.ffn.\1.\2'),
    (r'norm\.(.+)', r'backbone.final_norm.\1'),
    (r'head\.(.+)', r'head.fc.\1'),
]
_RELEASED_TO_MMPRETRAIN = [(re.compile(src), dst) for src, dst in _RELEASED_TO_MMPRETRAIN]


def _infer_arch(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Arch settings read off a released checkpoint (head_dim is 64 in every CeiT)."""
    D = state_dict['cls_token'].shape[-1]
    depth = len({int(m.group(1)) for k in state_dict if (m := re.match(r'blocks\.(\d+)\.', k))})
    conv1 = state_dict.get('blocks.0.leff.conv1.weight')
    expansion = conv1.shape[0] // D if conv1 is not None else 4
    return dict(embed_dims=D, num_layers=depth, num_heads=max(D // 64, 1),
                leff_expansion=expansion)


def convert_ceit_checkpoint(state_dict: Dict[str, torch.Tensor],
                            arch: Optional[Union[str, dict]] = None
                            ) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a released CeiT state dict to the keys of an mmpretrain ``ImageClassifier``.

    Released ``cls_token``, ``blocks.*``, ``lca.*``, ``norm.*`` ... become ``backbone.*`` and
    ``head.{weight,bias}`` becomes ``head.fc.*``. Every key and shape is checked against a CeiT
    of ``arch`` (a name from ``CeiT.arch_zoo`` or a dict; by default the arch read off the
    checkpoint). The position embedding may have any square grid (the backbone resizes it on
    load) and the head any number of classes; a checkpoint without ``head.*`` converts to the
    backbone keys only. A leading ``module.`` (DDP) is stripped; missing BatchNorm
    ``num_batches_tracked`` buffers are filled with 0.

    Raises:
        ValueError: naming the missing / unexpected keys or the mismatching shapes when the
            checkpoint has another layout or belongs to another arch.
    """
    sd = dict(state_dict)
    if sd and all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    if any(k.startswith('backbone.') for k in sd):
        raise ValueError('convert_ceit_checkpoint: the state dict already has mmpretrain keys '
                         '(backbone.*); it needs no conversion')
    if 'cls_token' not in sd:
        raise ValueError('convert_ceit_checkpoint: not a released CeiT state dict (no cls_token); '
                         f'first keys: {sorted(sd)[:6]}')

    settings = CeiT.resolve_arch(arch) if arch is not None else _infer_arch(sd)
    described = ', '.join(f'{k}={v}' for k, v in settings.items() if k != 'img_size')
    arch_name = (f'arch {arch!r} ({described})' if isinstance(arch, str) else
                 f'arch ({described}){" read off the checkpoint" if arch is None else ""}')
    with torch.device('meta'):  # shapes only: no memory, no init cost
        reference = CeiT(arch={k: v for k, v in settings.items() if k != 'img_size'})
    expected = {f'backbone.{k}': tuple(v.shape) for k, v in reference.state_dict().items()}
    head_w = sd.get('head.weight')
    if head_w is not None:
        num_classes = head_w.shape[0]
        expected['head.fc.weight'] = (num_classes, settings['embed_dims'])
        expected['head.fc.bias'] = (num_classes, )
    if 'pos_embed' in sd and sd['pos_embed'].dim() == 3:
        n = sd['pos_embed'].shape[1] - 1
        if math.isqrt(n) ** 2 == n:  # any square grid loads (resized by the backbone)
            expected['backbone.pos_embed'] = (1, n + 1, settings['embed_dims'])

    converted, sources = {}, {}
    for key, value in sd.items():
        for pattern, target in _RELEASED_TO_MMPRETRAIN:
            if pattern.fullmatch(key):
                new_key = pattern.sub(target, key)
                converted[new_key], sources[new_key] = value, key
                break
        else:
            converted[key] = value  # no rule: reported as unexpected under its own name
    for key in expected:
        if key.endswith('num_batches_tracked') and key not in converted:
            converted[key] = torch.tensor(0, dtype=torch.long)
    problems = describe_state_dict_mismatch(expected, converted, sources)
    if problems:
        raise ValueError(f'convert_ceit_checkpoint: checkpoint does not match CeiT {arch_name}: {problems}')
    return OrderedDict((k, converted[k]) for k in expected if k in converted)
