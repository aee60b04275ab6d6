"""The released SecViT classifier written plainly from the spec, with the released module names.

It is the yardstick for two claims: the converter maps a released checkpoint onto this package's
model exactly (same logits), and the optimised SEC attention is faster than the straightforward
algorithm (tools/benchmark.py). Token counts must divide by the cluster counts, as in the release.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .reference_sec import reference_sec_attention


class _LN2d(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _RoPE(nn.Module):
    def __init__(self, head_dim: int) -> None:
        super().__init__()
        angle = 1.0 / (10000**torch.linspace(0, 1, head_dim // 4))
        self.register_buffer('angle', angle.unsqueeze(-1).repeat(1, 2).flatten())

    def forward(self, h: int, w: int):
        ih = torch.arange(h, dtype=self.angle.dtype)
        iw = torch.arange(w, dtype=self.angle.dtype)
        sh = torch.outer(ih, self.angle)[:, None, :].expand(h, w, -1)
        sw = torch.outer(iw, self.angle)[None, :, :].expand(h, w, -1)
        ang = torch.cat([sh, sw], -1).reshape(h * w, -1)
        return ang.sin(), ang.cos()


def _rotate(x: Tensor, sin: Tensor, cos: Tensor) -> Tensor:
    x1, x2 = x[..., ::2], x[..., 1::2]
    return x * cos + torch.stack([-x2, x1], -1).flatten(-2) * sin


class _Attn(nn.Module):
    def __init__(self, dim: int, heads: int, clusters: Optional[int]) -> None:
        super().__init__()
        self.heads, self.clusters = heads, clusters
        self.qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.lepe = nn.Conv2d(dim, dim, 5, 1, 2, groups=dim)
        self.out_proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor, sin: Tensor, cos: Tensor) -> Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(x)
        lepe = self.lepe(qkv[:, 2 * c:])
        q, k, v = qkv.reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        q, k = _rotate(q, sin, cos), _rotate(k, sin, cos)
        if self.clusters:
            assert (h * w) % self.clusters == 0, 'the released model needs divisible token counts'
        out = reference_sec_attention(q, k, v, self.clusters)
        return self.out_proj(out.transpose(-1, -2).reshape(b, c, h, w) + lepe)


class _FFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.gelu(self.fc1(x))
        return self.fc2(x + self.dwconv(x))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, clusters: Optional[int], layerscale: bool) -> None:
        super().__init__()
        self.pos = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        self.norm1, self.norm2 = _LN2d(dim), _LN2d(dim)
        self.attn = _Attn(dim, heads, clusters)
        self.ffn = _FFN(dim, 3 * dim)
        self.layerscale = layerscale
        if layerscale:
            self.gamma_1 = nn.Parameter(1e-6 * torch.ones(1, dim, 1, 1))
            self.gamma_2 = nn.Parameter(1e-6 * torch.ones(1, dim, 1, 1))

    def forward(self, x: Tensor, sin: Tensor, cos: Tensor) -> Tensor:
        x = x + self.pos(x)
        a = self.attn(self.norm1(x), sin, cos)
        x = x + (self.gamma_1 * a if self.layerscale else a)
        f = self.ffn(self.norm2(x))
        return x + (self.gamma_2 * f if self.layerscale else f)


class _Down(nn.Module):
    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.reduction = nn.Conv2d(dim, out, 3, 2, 1)
        self.norm = nn.BatchNorm2d(out)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.reduction(x))


class _Layer(nn.Module):
    def __init__(self, dim, out, depth, heads, clusters, layerscale) -> None:
        super().__init__()
        self.RoPE = _RoPE(dim // heads)
        self.blocks = nn.ModuleList(_Block(dim, heads, clusters, layerscale) for _ in range(depth))
        self.downsample = _Down(dim, out) if out else None

    def forward(self, x: Tensor):
        sin, cos = self.RoPE(x.shape[2], x.shape[3])
        for blk in self.blocks:
            x = blk(x, sin, cos)
        return x, (self.downsample(x) if self.downsample is not None else x)


class _PatchEmbed(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        m = c // 2
        self.proj = nn.Sequential(nn.Conv2d(3, m, 3, 2, 1), nn.BatchNorm2d(m), nn.GELU(),
                                  nn.Conv2d(m, m, 3, 1, 1), nn.BatchNorm2d(m), nn.GELU(),
                                  nn.Conv2d(m, m, 3, 1, 1), nn.BatchNorm2d(m), nn.GELU(),
                                  nn.Conv2d(m, c, 3, 2, 1), nn.BatchNorm2d(c))

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class ReleasedSecViT(nn.Module):
    """Released-layout SecViT; ``forward`` gives logits, ``forward_features`` the stage maps."""

    def __init__(self, embed_dims: Sequence[int], depths: Sequence[int], num_heads: Sequence[int],
                 layerscales: Sequence[bool] = (False, ) * 4, clusters=(32, 8, 2, None),
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.patch_embed = _PatchEmbed(embed_dims[0])
        self.layers = nn.ModuleList(
            _Layer(embed_dims[i], embed_dims[i + 1] if i < 3 else None, depths[i], num_heads[i], clusters[i],
                   layerscales[i]) for i in range(4))
        self.proj = nn.Conv2d(embed_dims[3], 1024, 1)
        self.norm = nn.BatchNorm2d(1024)
        self.head = nn.Conv2d(1024, num_classes, 1)

    @classmethod
    def from_arch(cls, arch: str, **kwargs) -> 'ReleasedSecViT':
        from secvit_mm.core.secvit import SecViT
        s = SecViT.arch_zoo[arch]
        return cls(s['embed_dims'], s['depths'], s['num_heads'], s['layer_scale'], **kwargs)

    def forward_features(self, x: Tensor):
        x = self.patch_embed(x)
        outs = []
        for layer in self.layers:
            feat, x = layer(x)
            outs.append(feat)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        x = self.forward_features(x)[-1]
        x = self.norm(self.proj(x))
        x = F.adaptive_avg_pool2d(x * torch.sigmoid(x), 1)
        return self.head(x).flatten(1)
