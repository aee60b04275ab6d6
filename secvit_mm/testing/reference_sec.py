"""A plain implementation of the released SEC algorithm, the yardstick for the optimised one.

Sort tokens by cosine similarity to the mean key, gather, cut into clusters, materialise each
cluster's attention matrix, softmax, multiply, and gather back with the inverse permutation. For token
counts that do not divide, the last cluster is padded and the padded keys get ``-inf`` logits.
"""
import contextlib
import math
from typing import Iterator, Optional

import torch
from torch import Tensor, nn

from ..core.sec_attention import SECAttention


def reference_sec_attention(q: Tensor, k: Tensor, v: Tensor, num_clusters: Optional[int] = None,
                            cluster_size: Optional[int] = None, scale: Optional[float] = None) -> Tensor:
    batch, heads, n, d = q.shape
    scale = d**-0.5 if scale is None else scale
    k = k * scale  # the released model folds the scale into k
    if cluster_size is not None:
        clusters = math.ceil(n / cluster_size)
    else:
        clusters = num_clusters or 1
    clusters = min(clusters, n)
    if clusters == 1:
        return torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
    length = math.ceil(n / clusters)
    clusters = math.ceil(n / length)
    anchor = k.mean(2, keepdim=True)
    cos = torch.nn.functional.normalize(anchor, dim=-1) @ torch.nn.functional.normalize(k, dim=-1).transpose(-1, -2)
    order = torch.argsort(cos, dim=-1).squeeze(2)  # (b, heads, n)
    idx = order.unsqueeze(-1).expand(-1, -1, -1, d)
    qs, ks, vs = (torch.gather(t, 2, idx) for t in (q, k, v))
    pad = clusters * length - n
    if pad:
        qs, ks, vs = (torch.cat([t, t.new_zeros(batch, heads, pad, d)], dim=2) for t in (qs, ks, vs))
    qs, ks, vs = (t.reshape(batch, heads, clusters, length, d) for t in (qs, ks, vs))
    logits = qs @ ks.transpose(-1, -2)
    if pad:
        real = torch.arange(clusters * length, device=q.device).reshape(clusters, 1, length) < n
        logits = logits.masked_fill(~real, float('-inf'))
    out = (torch.softmax(logits, dim=-1) @ vs).reshape(batch, heads, clusters * length, d)[:, :, :n]
    inverse = order.argsort(dim=-1).unsqueeze(-1).expand(-1, -1, -1, d)
    return torch.gather(out, 2, inverse)


@contextlib.contextmanager
def use_reference_attention(model: nn.Module) -> Iterator[nn.Module]:
    """Run every SECAttention of ``model`` with the reference algorithm inside the context.

    Sets each module's own ``attention_fn`` (nothing global: other models, other threads and
    other tests keep the optimised algorithm).
    """
    modules = [m for m in model.modules() if isinstance(m, SECAttention)]
    originals = [m.attention_fn for m in modules]
    for m in modules:
        m.attention_fn = reference_sec_attention
    try:
        yield model
    finally:
        for m, original in zip(modules, originals):
            m.attention_fn = original
