"""CeiT: a DeiT-style ViT with a convolutional stem, LeFF and layer-wise class-token attention.

"Incorporating Convolution Designs into Visual Transformers" (Yuan et al., arXiv 2103.11816).
The module layout follows the authors' released model; ``convert_ceit_checkpoint`` maps its
checkpoints to the keys used here (``backbone.*`` / ``head.fc.*`` of an mmpretrain classifier).
"""
import math
import re
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.logging import MMLogger
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import MODELS

from ..layers import static_shapes
from ..converters.ceit import convert_ceit_checkpoint, is_released_ceit_layout
from .base import BaseBackbone

PATCH_SIZE = 16  # effective patch: I2T stride 4 x patch projection stride 4
LN_EPS = 1e-6


class ImageToTokens(nn.Module):
    """I2T stem: conv7x7/2 + BN + maxpool3x3/2 (no activation), then a 4x4/4 patch projection.

    Args:
        in_channels (int): Image channels.
        embed_dims (int): Token width D.
        stem_channels (int): Width of the convolutional stem. Defaults to 64.
        norm_cfg (dict): Norm layer of the stem. Defaults to ``dict(type='BN')``.
    """

    def __init__(self, in_channels: int, embed_dims: int, stem_channels: int = 64,
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn = build_norm_layer(norm_cfg, stem_channels)[1]
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
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__(OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                           groups=groups),
            bn=build_norm_layer(norm_cfg, out_channels)[1]))


class LeFF(nn.Module):
    """Locally-enhanced feed-forward: 1x1 expand, depthwise 3x3, 1x1 reduce on the token map.

    The class token is passed through untouched (the released model does this), and, as in the
    released code, the reduce conv + BN has no activation after it.

    Args:
        embed_dims (int): Token width D.
        expansion (int): Hidden width is ``expansion * D``. Defaults to 4.
        kernel_size (int): Depthwise kernel. Defaults to 3.
        norm_cfg (dict): Norm layer after each conv. Defaults to ``dict(type='BN')``.
    """

    def __init__(self, embed_dims: int, expansion: int = 4, kernel_size: int = 3,
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        hidden = embed_dims * expansion
        self.expand = ConvBN(embed_dims, hidden, 1, norm_cfg=norm_cfg)
        self.depthwise = ConvBN(hidden, hidden, kernel_size, groups=hidden,
                                norm_cfg=norm_cfg)
        self.reduce = ConvBN(hidden, embed_dims, 1, norm_cfg=norm_cfg)
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
                 drop_path_rate: float = 0., norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.attn = SelfAttention(embed_dims, num_heads, qkv_bias, attn_drop_rate, drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=LN_EPS)
        self.leff = LeFF(embed_dims, leff_expansion, norm_cfg=norm_cfg)
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

    def __init__(self, embed_dims: int, norm_cfg: dict) -> None:
        super().__init__()
        self.up4x = nn.Sequential(OrderedDict(
            deconv1=nn.ConvTranspose2d(embed_dims, embed_dims, 2, stride=2),
            norm=build_norm_layer(norm_cfg, embed_dims)[1],
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


@MODELS.register_module()
class CeiT(BaseBackbone):
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
        norm_cfg (dict): Norm layer of the I2T stem and LeFF convs (e.g. ``dict(type='SyncBN')``
            for multi-GPU dense prediction). Defaults to ``dict(type='BN')`` (released).
        pyramid_norm_cfg (dict): Norm layer between the two deconvs of the stride-4 pyramid level.
            Defaults to ``dict(type='GN', num_groups=32)``.
        frozen_stages (int): -1 freezes nothing; 0 freezes the I2T stem, class token and position
            embedding; k > 0 also freezes blocks ``0 .. k-1``; ``num_layers`` in ``'cls'`` mode
            also freezes LCA and the final norm. Frozen parts stay in eval mode. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode (frozen statistics) during training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of each block to save memory. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``. Defaults to None.
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
                 norm_cfg: dict = dict(type='BN'),
                 pyramid_norm_cfg: dict = dict(type='GN', num_groups=32),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
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
        self.i2t = ImageToTokens(in_channels, D, norm_cfg=norm_cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.pos_grid[0] * self.pos_grid[1], D))
        self.drop_after_pos = nn.Dropout(drop_rate)
        # Python floats, not torch.linspace: the converter builds this model on the meta device.
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1) for i in range(self.num_layers)]
        self.layers = ModuleList([
            CeiTBlock(D, self.num_heads, self.arch_settings.get('leff_expansion', 4), qkv_bias,
                      drop_rate, attn_drop_rate, dpr[i], norm_cfg)
            for i in range(num_built)
        ])
        if out_type == 'cls':
            self.lca = LayerwiseClassAttention(D, self.num_heads, self.num_layers, 4, qkv_bias,
                                               drop_rate, attn_drop_rate)
            self.final_norm = nn.LayerNorm(D, eps=LN_EPS)
        else:
            self.pyramid = SimpleFeaturePyramid(D, pyramid_norm_cfg)

        if not -1 <= frozen_stages <= self.num_layers:
            raise ValueError(f'CeiT: frozen_stages must be in [-1, {self.num_layers}], '
                             f'got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self._register_load_state_dict_pre_hook(self._adapt_state_dict)
        self._freeze_stages()

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

    def pretrained_loader_args(self) -> dict:
        # Only the dense pyramid is new to a classification checkpoint; it keeps its own init.
        return dict(converter=convert_ceit_checkpoint, is_released=is_released_ceit_layout,
                    adapt=lambda sd: self._adapt_state_dict(sd, ''), new_modules=('pyramid.', ))

    @staticmethod
    def init_module(module: nn.Module) -> None:
        # DeiT's init: trunc-normal linears, unit LayerNorms; convs and BNs keep PyTorch's.
        if isinstance(module, nn.Linear):
            trunc_normal_(module.weight, std=.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def init_parameters(self) -> None:
        trunc_normal_(self.cls_token, std=.02)
        trunc_normal_(self.pos_embed, std=.02)
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
        MMLogger.get_current_instance().info(
            f'CeiT: resizing pos_embed from grid {side}x{side} to '
            f'{self.pos_grid[0]}x{self.pos_grid[1]}')
        state_dict[key] = resize_pos_embed(ckpt, (side, side), self.pos_grid)

    # ---------------------------------------------------------------------------------- forward
    def _pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        # While exporting, the grid is symbolic: a shape test would freeze the export size into the
        # graph, so always resize (bicubic at the same size is the identity).
        if static_shapes() and grid == self.pos_grid:
            return self.pos_embed
        return resize_pos_embed(self.pos_embed, self.pos_grid, grid)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input(x)
        H, W = x.shape[-2:]
        if not static_shapes() or H % PATCH_SIZE or W % PATCH_SIZE:
            # Pad so 16-pixel patches tile the image (the stem would silently crop otherwise).
            x = F.pad(x, (0, -W % PATCH_SIZE, 0, -H % PATCH_SIZE))
        tokens, (h, w) = self.i2t(x)
        B = tokens.shape[0]
        tokens = torch.cat([self.cls_token.expand(B, -1, -1), tokens], dim=1)
        tokens = self.drop_after_pos(tokens + self._pos_embed_for((h, w)))

        cls_tokens, maps = [], []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training:
                tokens = cp.checkpoint(layer, tokens, h, w, use_reentrant=False)
            else:
                tokens = layer(tokens, h, w)
            if self.out_type == 'cls':
                cls_tokens.append(tokens[:, 0])
            elif i in self.out_indices:
                maps.append(tokens[:, 1:].transpose(1, 2).reshape(B, self.embed_dims, h, w))

        if self.out_type == 'cls':
            return (self.final_norm(self.lca(torch.stack(cls_tokens, dim=1))), )
        return self.pyramid(maps)

    # ----------------------------------------------------------------------------- train modes
    def frozen_modules(self) -> List[nn.Module]:
        frozen: List[nn.Module] = [self.i2t, *self.layers[:self.frozen_stages]]
        if self.frozen_stages == self.num_layers and hasattr(self, 'lca'):
            frozen += [self.lca, self.final_norm]
        return frozen

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self.frozen_stages >= 0:  # the embeddings belong to the stem
            self.cls_token.requires_grad = False
            self.pos_embed.requires_grad = False


def resize_pos_embed(pos_embed: torch.Tensor, src_grid: Tuple[int, int],
                     dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Bicubically resize a (1, 1 + h * w, D) position embedding; the class slot is kept."""
    cls_slot, grid = pos_embed[:, :1], pos_embed[:, 1:]
    D = grid.shape[-1]
    grid = grid.reshape(1, *src_grid, D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=dst_grid, mode='bicubic', align_corners=False)
    grid = grid.to(pos_embed.dtype).flatten(2).transpose(1, 2)
    return torch.cat([cls_slot, grid], dim=1)
