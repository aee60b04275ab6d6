"""Semantic Equitable Clustering (SEC) attention, shared by every SEC model in this package.

SEC (SecViT, arXiv 2405.13337) groups tokens by meaning rather than by position: per image and per
head, tokens are sorted by the cosine similarity of their key to the mean key, the sorted sequence is
cut into equal contiguous chunks, and softmax attention runs inside each chunk.

Two ways of sizing the chunks:

* ``num_clusters``: a fixed number of clusters per stage (the paper: 32 / 8 / 2). Cost grows with the
  square of the number of tokens, since each chunk grows with the image.
* ``cluster_size``: a fixed number of tokens per chunk; ``ceil(N / cluster_size)`` clusters, so the
  cost grows linearly with the image.

The released code requires the token count to divide evenly. Here any count works: the sorted
sequence is padded at its end to ``clusters * size`` and the padded keys are masked, so no real token
attends to padding; when the count divides, nothing is padded and the result is the released one.

How it is computed (same results as the plain algorithm in ``secvit_mm.testing``, which is the
yardstick in tests and ``tools/benchmark.py``):

* Tensors are token-major: q, k and v are ``(B, N, heads, head_dim)`` rows, which is what a 1x1
  conv on a channels-last map produces, so no transposing copies are made around the attention.
* One sort per image and head gives two index maps (sorted slot -> token row, token row -> slot).
  q, k and v are each gathered once into cluster order (padding slots repeat a real row and are
  masked as keys); the output is gathered once back into token order. Both gathers are row
  ``index_select`` calls whose backward is again an ``index_select`` with the other map (no
  ``index_add``/scatter).
* Attention inside the clusters is one ``F.scaled_dot_product_attention`` call (the fused CPU/GPU
  kernels; no attention map is materialised). A boolean key mask is only passed when the last
  cluster is padded; the fused CPU kernel takes it without falling back to the math path.
* 2D RoPE is one complex multiplication per tensor in float32/float64 (``RotaryEmbedding2d``
  caches the complex table per size next to the sin/cos tables), and the plain real formula
  (:func:`apply_rope2d`) otherwise (bf16 autocast, ``torch.compile``).
"""
import math
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .tracing import static_shapes

__all__ = [
    'ClusterLayout', 'cluster_layout', 'semantic_order', 'sec_attention', 'apply_rope2d',
    'RotaryEmbedding2d', 'SECAttention', 'spatial_order', 'static_shapes'
]

#: A function with :func:`sec_attention`'s first six arguments. A :class:`SECAttention`'s
#: ``attention_fn`` attribute, when set, replaces :func:`sec_attention` for that module only
#: (``secvit_mm.testing.use_reference_attention`` sets the plain algorithm there).
AttentionFn = Callable[..., Tensor]


class ClusterLayout(NamedTuple):
    """How ``num_tokens`` sorted tokens are cut into equal chunks.

    ``num_clusters * cluster_len - num_tokens`` padding slots sit at the end of the last chunk.
    """
    num_tokens: int
    num_clusters: int
    cluster_len: int

    @property
    def num_padded(self) -> int:
        return self.num_clusters * self.cluster_len - self.num_tokens


def cluster_layout(num_tokens: int,
                   num_clusters: Optional[int] = None,
                   cluster_size: Optional[int] = None) -> ClusterLayout:
    """Chunking of ``num_tokens`` tokens; ``cluster_size`` takes precedence over ``num_clusters``.

    Chunks are as equal as possible: ``len = ceil(N / clusters)``; the cluster count is then reduced
    to ``ceil(N / len)`` so that no chunk is made of padding only (e.g. 9 tokens in 4 clusters gives
    3 chunks of 3). With neither argument (or a single cluster) attention is global.
    """
    if isinstance(num_tokens, Tensor):
        num_tokens = int(num_tokens)  # torch.jit.trace (FLOP counting) records sizes as tensors
    symbolic = not isinstance(num_tokens, int)  # a SymInt while exporting with dynamic shapes
    if not symbolic and num_tokens < 1:
        raise ValueError(f'SEC attention needs at least one token, got {num_tokens}')
    if cluster_size is not None:
        if cluster_size < 1:
            raise ValueError(f'cluster_size must be a positive int, got {cluster_size}')
        wanted = _ceil_div(num_tokens, cluster_size)
    elif num_clusters is not None:
        if num_clusters < 1:
            raise ValueError(f'num_clusters must be a positive int, got {num_clusters}')
        wanted = num_clusters
    else:
        wanted = 1
    if symbolic:
        # Exporting: integer ops on SymInts, so the layout follows the input size in the graph.
        if isinstance(wanted, int) and wanted == 1:
            return ClusterLayout(num_tokens, 1, num_tokens)
        wanted = torch.sym_min(wanted, num_tokens)
    else:
        wanted = min(wanted, num_tokens)
    length = _ceil_div(num_tokens, wanted)
    return ClusterLayout(num_tokens, _ceil_div(num_tokens, length), length)


def _ceil_div(a, b):
    """``ceil(a / b)``: ``math.ceil`` for ints (eager), integer ops for SymInts (export)."""
    if isinstance(a, int) and isinstance(b, int):
        return math.ceil(a / b)
    return (a + b - 1) // b


def _symbolic(layout: ClusterLayout) -> bool:
    """The layout holds SymInts (dynamic-shape export): take the padded path for every size."""
    return not isinstance(layout.num_padded, int)


def semantic_order(k: Tensor) -> Tensor:
    """Token order for SEC: ascending cosine similarity of each key to the mean key.

    Computed with the released model's operations (mean, normalise, one matmul) so that equal keys
    give the same order: a different summation order can swap near-tied tokens across a cluster
    boundary.

    Args:
        k: keys, (B, heads, N, head_dim).

    Returns:
        (B, heads, N) int64 permutation, sorted per image and per head.
    """
    if k.dtype in (torch.float16, torch.bfloat16):
        # Similarities of low-precision keys in float32 (also under autocast): 8 mantissa bits would
        # tie most of them, and the order would no longer follow the keys.
        with torch.autocast(k.device.type, enabled=False):
            return semantic_order(k.float())
    anchor = F.normalize(k.mean(dim=2, keepdim=True), dim=-1)
    similarity = anchor @ F.normalize(k, dim=-1).transpose(-1, -2)
    return similarity.argsort(dim=-1).squeeze(2)


_MASK_CACHE: Dict[Tuple, Tensor] = {}


def _padding_mask(layout: ClusterLayout, device: torch.device) -> Tensor:
    """(clusters, 1, len) boolean key mask, True = real token; cached per layout and device."""
    if _symbolic(layout):
        slots = torch.arange(layout.num_clusters * layout.cluster_len, device=device)
        return (slots < layout.num_tokens).view(layout.num_clusters, 1, layout.cluster_len)
    key, cache = (layout, str(device)), static_shapes()
    mask = _MASK_CACHE.get(key) if cache else None
    if mask is None:
        mask = torch.ones(layout.num_clusters, 1, layout.cluster_len, dtype=torch.bool, device=device)
        if layout.num_padded:
            mask[-1, :, layout.cluster_len - layout.num_padded:] = False
        if cache:
            if len(_MASK_CACHE) > 64:
                _MASK_CACHE.clear()
            _MASK_CACHE[key] = mask
    return mask


class _PermuteRows(torch.autograd.Function):
    """``rows.index_select(0, index)`` for an ``index`` that is a permutation up to padding rows.

    The backward is ``grad.index_select(0, inverse)`` (a gather, parallel and without the zero
    buffer and serial accumulation of ``index_add``), then ``zero_rows`` of it are zeroed. This is
    exact when every source row is read by exactly one output row, plus optionally duplicates whose
    gradient is zero (the padding slots of the last cluster: masked keys, discarded queries), and
    ``zero_rows`` lists the source rows no output reads.
    """

    @staticmethod
    def forward(ctx, rows: Tensor, index: Tensor, inverse: Tensor, zero_rows: Optional[Tensor]) -> Tensor:
        ctx.save_for_backward(inverse, zero_rows)
        return rows.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: Tensor):
        inverse, zero_rows = ctx.saved_tensors
        grad = grad.index_select(0, inverse)
        if zero_rows is not None:
            grad.index_fill_(0, zero_rows, 0)
        return grad, None, None, None


class _ClusterMaps(NamedTuple):
    """Index maps between token rows ``(b, n, h)`` and sorted slots ``(b, h, cluster, position)``."""
    slot_to_token: Tensor  # (B*heads*L,) token row of each slot (padding slots: a real row)
    token_to_slot: Tensor  # (B*N*heads,) slot of each token row


def _cluster_maps(order: Tensor, layout: ClusterLayout) -> _ClusterMaps:
    batch, heads, num_tokens = order.shape
    padded = layout.num_clusters * layout.cluster_len
    device = order.device
    # Token row of (b, n, h) in a (B, N, heads) row-major layout.
    offset = (torch.arange(batch, device=device) * (num_tokens * heads)).view(batch, 1, 1) + \
        torch.arange(heads, device=device).view(1, heads, 1)
    slot_to_token = order * heads + offset  # (B, heads, N)
    if _symbolic(layout) or layout.num_padded:
        # Padding slots point at the last real token of their cluster's sequence (masked as keys).
        slot_to_token = torch.cat(
            (slot_to_token, slot_to_token[..., -1:].expand(-1, -1, layout.num_padded)), dim=-1)
    rank = torch.empty_like(order).scatter_(
        2, order, torch.arange(num_tokens, device=device).expand(batch, heads, -1))
    slot_offset = (torch.arange(batch * heads, device=device) * padded).view(batch, heads, 1)
    token_to_slot = (rank + slot_offset).transpose(1, 2).reshape(-1)  # (B, N, heads) order
    return _ClusterMaps(slot_to_token.reshape(-1), token_to_slot)


def _token_major(t: Tensor) -> Tensor:
    """(B, heads, N, d) -> a dense (B, N, heads, d) tensor (a view when it already is one)."""
    t = t.transpose(1, 2)
    return t if t.is_contiguous() else t.contiguous()


def sec_attention(q: Tensor,
                  k: Tensor,
                  v: Tensor,
                  num_clusters: Optional[int] = None,
                  cluster_size: Optional[int] = None,
                  scale: Optional[float] = None,
                  order: Optional[Tensor] = None) -> Tensor:
    """Softmax attention inside semantic clusters (global when no clustering is asked for).

    Args:
        q, k, v: (B, heads, N, head_dim). Fastest as views of dense (B, N, heads, head_dim)
            tensors (token-major, what :class:`SECAttention` passes); other layouts are copied.
        num_clusters: clusters per image and head; ``None`` with ``cluster_size=None`` is global.
        cluster_size: tokens per cluster; takes precedence over ``num_clusters``.
        scale: softmax scale; ``head_dim ** -0.5`` when None.
        order: a fixed (N,) token permutation that replaces the semantic sort (e.g.
            :func:`spatial_order`, the window-attention baseline of the ablations); the chunks are
            then cut from this order. None (default) = SEC's per-image, per-head semantic order.

    Returns:
        (B, heads, N, head_dim) in the original token order, as a view of a token-major tensor.
    """
    batch, heads, num_tokens, head_dim = q.shape
    layout = cluster_layout(num_tokens, num_clusters, cluster_size)
    if isinstance(layout.num_clusters, int) and layout.num_clusters == 1:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)

    if order is None:
        order = semantic_order(k)
    else:
        if order.shape != (num_tokens, ):
            raise ValueError(f'order must be a ({num_tokens},) token permutation, got {tuple(order.shape)}')
        order = order.to(device=q.device, dtype=torch.long).expand(batch, heads, -1).contiguous()
    maps = _cluster_maps(order, layout)
    shape = (batch * heads, layout.num_clusters, layout.cluster_len, head_dim)
    qs, ks, vs = (_PermuteRows.apply(_token_major(t).view(-1, head_dim), maps.slot_to_token,
                                     maps.token_to_slot, None).view(shape) for t in (q, k, v))
    masked = _symbolic(layout) or layout.num_padded  # exporting: the general (padded) path
    mask = _padding_mask(layout, q.device).unsqueeze(0) if masked else None
    out = F.scaled_dot_product_attention(qs, ks, vs, attn_mask=mask, scale=scale)

    # Back to token order. The fused CPU kernel writes (B*heads, len, clusters, d) memory and
    # returns it transposed; read the rows where they are instead of copying them first.
    slot_to_token, token_to_slot = maps.slot_to_token, maps.token_to_slot
    transposed = not out.is_contiguous() and out.transpose(1, 2).is_contiguous()
    if transposed:
        rows = out.transpose(1, 2).reshape(-1, head_dim)
        padded = layout.num_clusters * layout.cluster_len
        position = token_to_slot % padded
        token_to_slot = token_to_slot - position + (position % layout.cluster_len) * layout.num_clusters + \
            position.div(layout.cluster_len, rounding_mode='floor')
        slot_to_token = slot_to_token.view(shape[:3]).transpose(1, 2).reshape(-1)
    else:
        rows = out.reshape(-1, head_dim)
    pad_rows = _pad_rows(layout, batch * heads, q.device, transposed) if masked else None
    out = _PermuteRows.apply(rows, token_to_slot, slot_to_token, pad_rows)
    return out.view(batch, num_tokens, heads, head_dim).transpose(1, 2)


def _pad_rows(layout: ClusterLayout, groups: int, device: torch.device, transposed: bool) -> Tensor:
    """Rows of the padding slots in a (groups, clusters, len) [or (groups, len, clusters)] buffer."""
    padded = layout.num_clusters * layout.cluster_len
    first = layout.cluster_len - layout.num_padded
    position = torch.arange(first, layout.cluster_len, device=device)
    if transposed:
        within = position * layout.num_clusters + layout.num_clusters - 1
    else:
        within = position + (layout.num_clusters - 1) * layout.cluster_len
    return (torch.arange(groups, device=device)[:, None] * padded + within).reshape(-1)


def spatial_order(height: int, width: int, cluster_len: int, device=None) -> Tensor:
    """Window-partition token order of an (h, w) grid, for spatial (non-semantic) grouping.

    Windows are ``s x s`` squares with ``s`` the largest integer whose square divides
    ``cluster_len`` (49 -> 7, 98 -> 7, 64 -> 8, a prime -> 1), enumerated row-major over the grid
    (border windows are cropped), tokens row-major inside each window. Cutting this order into
    chunks of ``cluster_len`` gives whole windows (Swin's 7x7 windows for 49) or runs of
    ``cluster_len / s**2`` neighbouring windows, whenever the grid divides into them.

    Returns:
        (h * w,) int64 permutation of the row-major token indices.
    """
    side = 1
    for s in range(1, math.isqrt(max(cluster_len, 1)) + 1):
        if cluster_len % (s * s) == 0:
            side = s
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    # Unique sort key per token: (window index, row in window, column in window).
    win_r, in_r = (rows // side)[:, None], (rows % side)[:, None]
    win_c, in_c = (cols // side)[None, :], (cols % side)[None, :]
    windows_per_row = -(-width // side)
    key = ((win_r * windows_per_row + win_c) * side + in_r) * side + in_c
    return key.reshape(-1).argsort()


def apply_rope2d(x: Tensor, sin: Tensor, cos: Tensor) -> Tensor:
    """Rotate interleaved channel pairs: (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin)."""
    x0, x1 = x.unflatten(-1, (-1, 2)).unbind(-1)
    rotated = torch.stack((-x1, x0), dim=-1).flatten(-2)
    return x * cos + rotated * sin


def _rotate(x: Tensor, rope: Sequence[Tensor], in_place: bool = False) -> Tensor:
    """2D RoPE of token-major ``x`` (B, N, heads, d); ``rope`` = (sin, cos[, complex table]).

    ``in_place``: ``x`` may be overwritten (it is a fresh buffer of the caller's); done only when no
    gradient is needed (in place on a view costs extra copies in backward).
    """
    sin, cos = rope[0], rope[1]
    if x.dtype == sin.dtype and x.dtype in (torch.float32, torch.float64) and static_shapes():
        # (x0 + i x1) * (cos + i sin) is the rotation of the pair: one pass instead of five.
        table = rope[2] if len(rope) > 2 else torch.complex(cos[:, 0::2], sin[:, 0::2])
        pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)))
        if in_place and not (torch.is_grad_enabled() and x.requires_grad):
            pairs.mul_(table[:, None])  # inference: no new buffer
            return x
        return torch.view_as_real(pairs * table[:, None]).flatten(-2)
    return apply_rope2d(x, sin[:, None].to(x.dtype), cos[:, None].to(x.dtype))


class RotaryEmbedding2d(nn.Module):
    """Tables of a 2D rotary position embedding for a (h, w) token grid.

    Frequencies ``1 / 10000 ** linspace(0, 1, head_dim // 4)``, each repeated for an interleaved
    pair. Channels ``[0, d/2)`` rotate with the row index, ``[d/2, d)`` with the column index.

    Args:
        head_dim: channels per head; must be divisible by 4.
    """

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        if head_dim % 4:
            raise ValueError(f'2D RoPE needs head_dim divisible by 4, got {head_dim}')
        angle = 1.0 / (10000**torch.linspace(0, 1, head_dim // 4))
        # Not saved: it is a constant of head_dim, and old checkpoints may carry it (converter drops).
        self.register_buffer('angle', angle.repeat_interleave(2), persistent=False)
        self._cache: Dict[Tuple, Tuple[Tensor, Tensor, Tensor]] = {}

    def forward(self, height: int, width: int) -> Tuple[Tensor, Tensor]:
        """Returns (sin, cos), each (h * w, head_dim), row-major token order."""
        return self.tables(height, width)[:2]

    def tables(self, height: int, width: int) -> Tuple[Tensor, Tensor, Tensor]:
        """(sin, cos, rotation): ``rotation = cos + i sin`` of each channel pair, (h * w, head_dim // 2).

        Cached per size (outside tracing/compiling); this is what :class:`SECAttention` takes.
        """
        key, cache = (height, width, self.angle.device, self.angle.dtype), static_shapes()
        cached = self._cache.get(key) if cache else None
        if cached is not None:
            return cached
        rows = torch.arange(height, device=self.angle.device, dtype=self.angle.dtype)
        cols = torch.arange(width, device=self.angle.device, dtype=self.angle.dtype)
        row_angle = (rows[:, None] * self.angle[None, :])[:, None, :].expand(height, width, -1)
        col_angle = (cols[:, None] * self.angle[None, :])[None, :, :].expand(height, width, -1)
        angle = torch.cat((row_angle, col_angle), dim=-1).reshape(height * width, -1)
        sin, cos = torch.sin(angle), torch.cos(angle)
        tables = (sin, cos, torch.complex(cos[:, 0::2], sin[:, 0::2]) if cache else None)
        if cache:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[key] = tables
        return tables if tables[2] is not None else tables[:2]

    def _apply(self, fn, *args, **kwargs):
        # Tables follow the module's device/dtype: drop the cache when the module moves.
        self._cache = {}
        return super()._apply(fn, *args, **kwargs)


class SECAttention(nn.Module):
    """Multi-head attention with Semantic Equitable Clustering on NCHW maps (1x1-conv projections).

    ``out = out_proj(attention(rope(q), rope(k), v) + lepe(v))``. Keys are scaled by
    ``head_dim ** -0.5`` (the softmax scale).

    Runs channels-last inside (the input is converted if it is not; the output is a channels-last
    NCHW tensor): q, k and v come out of the projection token-major, as the attention wants them.

    Args:
        embed_dims: channels C.
        num_heads: heads; C must be divisible by it.
        num_clusters: clusters per image and head; None (and no ``cluster_size``) = global.
        cluster_size: tokens per cluster; takes precedence over ``num_clusters``.
        use_rope: rotate q and k with 2D RoPE (tables are passed to ``forward``).
        use_lepe: add the depthwise 5x5 conv of v (local enhancement, "LCE" in the paper).
        qkv_bias: bias of the qkv projection.
        grouping: ``'semantic'`` (SEC, default) or ``'spatial'``: the same chunked attention over a
            fixed window-partition order (:func:`spatial_order`) instead of the semantic sort, i.e. a
            window-attention baseline with identical parameters (the ablations' attention row).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 num_clusters: Optional[int] = None,
                 cluster_size: Optional[int] = None,
                 use_rope: bool = True,
                 use_lepe: bool = True,
                 qkv_bias: bool = True,
                 grouping: str = 'semantic') -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})')
        for name, value in (('num_clusters', num_clusters), ('cluster_size', cluster_size)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f'{name} must be a positive int or None, got {value!r}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.scale = self.head_dim**-0.5
        self.num_clusters = num_clusters
        self.cluster_size = cluster_size
        self.use_rope = use_rope
        if grouping not in ('semantic', 'spatial'):
            raise ValueError(f"grouping must be 'semantic' or 'spatial', got {grouping!r}")
        self.grouping = grouping
        self.qkv = nn.Conv2d(embed_dims, 3 * embed_dims, 1, bias=qkv_bias)
        self.lepe = nn.Conv2d(embed_dims, embed_dims, 5, 1, 2, groups=embed_dims) if use_lepe else None
        self.out_proj = nn.Conv2d(embed_dims, embed_dims, 1)
        #: None: :func:`sec_attention`; any function with its first six arguments otherwise.
        self.attention_fn: Optional[AttentionFn] = None

    @property
    def is_global(self) -> bool:
        return self.num_clusters is None and self.cluster_size is None

    def _project_tokens(self, x: Tensor,
                        rope: Optional[Sequence[Tensor]]) -> Tuple[Tensor, Tensor, Tensor]:
        """q, k, v as dense token-major (B, N, heads, head_dim), RoPE applied to q and k."""
        batch, _, height, width = x.shape
        x = x.contiguous(memory_format=torch.channels_last)
        shape = (batch, height * width, self.num_heads, self.head_dim)
        weight, bias = self.qkv.weight, self.qkv.bias
        c = self.embed_dims
        tokens = []
        # Three convs on the weight's slices: each output is its own dense channels-last map, so
        # no slicing copies in either direction (same arithmetic as one conv).
        for i in range(3):
            t = F.conv2d(x, weight[i * c:(i + 1) * c], None if bias is None else bias[i * c:(i + 1) * c])
            tokens.append(t.permute(0, 2, 3, 1).reshape(shape))
        q, k, v = tokens
        if self.use_rope:
            if rope is None:
                raise ValueError('SECAttention(use_rope=True) needs the (sin, cos) RoPE tables')
            q, k = _rotate(q, rope, in_place=True), _rotate(k, rope, in_place=True)
        return q, k, v

    def project(self, x: Tensor, rope: Optional[Sequence[Tensor]] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """q, k, v as (B, heads, N, head_dim), RoPE applied to q and k (views of token-major tensors)."""
        return tuple(t.transpose(1, 2) for t in self._project_tokens(x, rope))

    def forward(self, x: Tensor, rope: Optional[Sequence[Tensor]] = None) -> Tensor:
        """``rope``: (sin, cos) from :class:`RotaryEmbedding2d`, or its ``tables()`` (faster)."""
        batch, channels, height, width = x.shape
        q, k, v = self._project_tokens(x, rope)
        order = None
        if self.grouping == 'spatial':
            layout = cluster_layout(height * width, self.num_clusters, self.cluster_size)
            order = spatial_order(height, width, layout.cluster_len, x.device)
        # ``order`` only when there is one: ``attention_fn`` (e.g. the plain algorithm of
        # ``use_reference_attention``) takes the first six arguments.
        extra = {} if order is None else dict(order=order)
        attend = sec_attention if self.attention_fn is None else self.attention_fn
        out = attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), self.num_clusters,
                            self.cluster_size, self.scale, **extra)
        out = _token_major(out).view(batch, height, width, channels).permute(0, 3, 1, 2)
        if self.lepe is not None:
            # LePE acts on the v channels of the projection map (before RoPE, NCHW). Summed into the
            # conv's fresh output (the attention output may be saved for backward).
            out = self.lepe(v.view(batch, height, width, channels).permute(0, 3, 1, 2)).add_(out)
        return self.out_proj(out)

    def extra_repr(self) -> str:
        mode = ('global' if self.is_global else
                f'cluster_size={self.cluster_size}' if self.cluster_size else f'num_clusters={self.num_clusters}')
        grouping = ', grouping=spatial' if self.grouping == 'spatial' else ''
        return f'embed_dims={self.embed_dims}, num_heads={self.num_heads}, {mode}{grouping}'
