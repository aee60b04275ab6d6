"""SEC attention: the optimised module against a direct implementation of the released algorithm."""
import math

import pytest
import torch

from secvit_mm.models.layers import (RotaryEmbedding2d, SECAttention, apply_rope2d, cluster_layout,
                                     sec_attention, semantic_order)
from secvit_mm.testing import reference_sec_attention


def qkv(batch=2, heads=3, n=64, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, n, d, generator=g) for _ in range(3)]


@pytest.mark.parametrize('n,clusters', [(64, 8), (98 * 4, 4), (196, 2), (32, 32)])
def test_divisible_token_counts_match_the_released_algorithm(n, clusters):
    q, k, v = qkv(n=n)
    out = sec_attention(q, k, v, num_clusters=clusters)
    torch.testing.assert_close(out, reference_sec_attention(q, k, v, clusters), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('n,clusters,size', [(100, 8, None), (9, 4, None), (101, None, 7), (1000, None, 98),
                                             (5, 32, None)])
def test_uneven_token_counts_match_padded_and_masked_reference(n, clusters, size):
    q, k, v = qkv(n=n)
    out = sec_attention(q, k, v, num_clusters=clusters, cluster_size=size)
    assert out.shape == q.shape and torch.isfinite(out).all()
    torch.testing.assert_close(out, reference_sec_attention(q, k, v, clusters, size), atol=1e-5, rtol=1e-5)


def test_padding_gets_zero_attention_weight():
    # Values at padded slots are zero; if they had weight, scaling v would not scale the output
    # linearly in the last cluster. Instead check directly: poisoning the padding cannot reach output.
    n, clusters = 10, 4  # 3 clusters of 4 (ceil), 2 padded slots
    layout = cluster_layout(n, clusters)
    assert layout.num_padded == 2
    q, k, v = qkv(n=n)
    out = sec_attention(q, k, v, num_clusters=clusters)
    # A token's output is a convex combination of real values of its own cluster only.
    order = semantic_order(k)
    last = order[..., (layout.num_clusters - 1) * layout.cluster_len:]  # real tokens of the last cluster
    vals = torch.gather(v, 2, last.unsqueeze(-1).expand(-1, -1, -1, v.shape[-1]))
    got = torch.gather(out, 2, last.unsqueeze(-1).expand(-1, -1, -1, v.shape[-1]))
    logits = torch.gather(q, 2, last.unsqueeze(-1).expand_as(vals)) @ \
        torch.gather(k, 2, last.unsqueeze(-1).expand_as(vals)).transpose(-1, -2) * q.shape[-1]**-0.5
    torch.testing.assert_close(got, torch.softmax(logits, -1) @ vals, atol=1e-5, rtol=1e-5)


def test_gradients_flow_and_match_reference_on_uneven_sizes():
    q, k, v = (t.requires_grad_() for t in qkv(n=77))
    sec_attention(q, k, v, num_clusters=8).square().sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    reference_sec_attention(q, k, v, 8).square().sum().backward()
    for got, want in zip(grads, (q.grad, k.grad, v.grad)):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_cluster_layout_modes():
    assert cluster_layout(3136, num_clusters=32) == (3136, 32, 98)
    # cluster_size wins and gives ceil(N / size) clusters of equal length (minimal padding)
    assert cluster_layout(66800, num_clusters=32, cluster_size=98) == (66800, 682, 98)
    assert cluster_layout(100, cluster_size=98) == (100, 2, 50)
    assert cluster_layout(49) == (49, 1, 49)  # global
    assert cluster_layout(3, num_clusters=8).num_clusters == 3  # never more clusters than tokens
    with pytest.raises(ValueError, match='num_clusters'):
        cluster_layout(10, num_clusters=0)
    with pytest.raises(ValueError, match='cluster_size'):
        cluster_layout(10, cluster_size=-1)


def test_cost_of_fixed_size_clusters_is_linear_in_tokens():
    small, large = cluster_layout(10_000, cluster_size=98), cluster_layout(40_000, cluster_size=98)
    assert large.cluster_len == small.cluster_len or abs(large.cluster_len - small.cluster_len) <= 1
    assert large.num_clusters == pytest.approx(4 * small.num_clusters, rel=0.01)


def test_sorting_is_per_image_and_per_head():
    q, k, v = qkv(batch=2, heads=2, n=16)
    k[1] = k[0].flip(1)  # image 1 has image 0's keys in reverse order
    order = semantic_order(k)
    assert torch.equal(order[1], 15 - order[0])


def test_rope_tables_follow_the_spec():
    rope = RotaryEmbedding2d(head_dim=16)
    freqs = 1 / 10000**torch.linspace(0, 1, 4)
    assert torch.allclose(rope.angle, freqs.repeat_interleave(2))
    sin, cos = rope(3, 5)
    assert sin.shape == (15, 16)
    token = 2 * 5 + 3  # row 2, column 3
    torch.testing.assert_close(sin[token, :8], torch.sin(2 * rope.angle))
    torch.testing.assert_close(cos[token, 8:], torch.cos(3 * rope.angle))
    x = torch.randn(16)
    y = apply_rope2d(x, sin[token], cos[token])
    # pair (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin)
    torch.testing.assert_close(y[0], x[0] * cos[token, 0] - x[1] * sin[token, 0])
    torch.testing.assert_close(y[1], x[1] * cos[token, 1] + x[0] * sin[token, 1])
    assert rope(3, 5)[0] is sin  # tables are cached per size


def test_rope_rejects_head_dim_not_divisible_by_4():
    with pytest.raises(ValueError, match='divisible by 4'):
        RotaryEmbedding2d(head_dim=6)


@pytest.mark.parametrize('mode', [dict(num_clusters=4), dict(cluster_size=10), dict()])
def test_module_matches_reference_for_both_cluster_modes(mode):
    torch.manual_seed(0)
    attn = SECAttention(32, 2, **mode).eval()
    x = torch.randn(2, 32, 7, 9)
    rope = RotaryEmbedding2d(16)(7, 9)
    out = attn(x, rope)
    q, k, v = attn.project(x, rope)
    ref = reference_sec_attention(q, k, v, mode.get('num_clusters'), mode.get('cluster_size'))
    ref = ref.transpose(-1, -2).reshape(2, 32, 7, 9) + attn.lepe(v.transpose(-1, -2).reshape(2, 32, 7, 9))
    torch.testing.assert_close(out, attn.out_proj(ref), atol=1e-5, rtol=1e-5)


def test_module_rejects_bad_settings():
    with pytest.raises(ValueError, match='divisible'):
        SECAttention(30, 4)
    with pytest.raises(ValueError, match='num_clusters'):
        SECAttention(32, 2, num_clusters=0)
    with pytest.raises(ValueError, match='cluster_size'):
        SECAttention(32, 2, cluster_size=2.5)
