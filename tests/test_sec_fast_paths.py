"""The optimised SEC paths (token-major gathers, complex RoPE, channels-last blocks, bf16, compile)
give the plain algorithm's outputs and gradients.

Exactness is checked in float64: the sort makes SEC discontinuous, so in float32 two keys within
rounding of each other at a cluster boundary may land in neighbouring clusters in two correct
implementations; in float64 such near-ties do not occur at these sizes.
"""
import pytest
import torch
import torch.nn.functional as F

from secvit_mm.models.backbones import SecViT, convert_secvit_checkpoint
from secvit_mm.models.layers import RotaryEmbedding2d, SECAttention, apply_rope2d, sec_attention
from secvit_mm.models.layers import sec_attention as _unused  # noqa: F401  (the function)
from secvit_mm.testing import reference_sec_attention, use_reference_attention
from secvit_mm.testing.released_secvit import ReleasedSecViT

import importlib

sec_module = importlib.import_module('secvit_mm.core.sec_attention')

SMALL_ARCH = dict(embed_dims=[16, 32, 32, 64], depths=[1, 2, 1, 1], num_heads=[2, 2, 4, 4])

MODES = [
    pytest.param(dict(num_clusters=4), id='num_clusters'),
    pytest.param(dict(cluster_size=7), id='cluster_size'),
]


def qkv(n, batch=2, heads=3, d=8, dtype=torch.float64, token_major=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    if token_major:  # (B, heads, N, d) views of dense (B, N, heads, d), as SECAttention passes them
        return [torch.randn(batch, n, heads, d, generator=g, dtype=dtype).transpose(1, 2).requires_grad_()
                for _ in range(3)]
    return [torch.randn(batch, heads, n, d, generator=g, dtype=dtype).requires_grad_() for _ in range(3)]


def grads(out, inputs, seed=1):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    return torch.autograd.grad(out, inputs, g)


@pytest.mark.parametrize('token_major', [False, True])
@pytest.mark.parametrize('n,mode', [(64, dict(num_clusters=8)), (100, dict(num_clusters=8)), (9, dict(num_clusters=4)),
                                    (101, dict(cluster_size=7)), (300, dict(cluster_size=98)), (5, dict(num_clusters=32)),
                                    (49, dict())])
def test_outputs_and_gradients_equal_the_reference(n, mode, token_major):
    q, k, v = qkv(n, token_major=token_major)
    out = sec_attention(q, k, v, **mode)
    ref = reference_sec_attention(q, k, v, mode.get('num_clusters'), mode.get('cluster_size'))
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)
    for got, want in zip(grads(out, (q, k, v)), grads(ref, (q, k, v))):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize('n,mode', [(100, dict(num_clusters=8)), (64, dict(num_clusters=8)), (101, dict(cluster_size=7))])
def test_kernel_output_in_transposed_memory_is_read_in_place(monkeypatch, n, mode):
    # Some SDPA kernels return (B, heads, L, d) whose memory is (B, L, heads, d); the inverse gather
    # then reads rows where they are. Force that layout and check outputs and gradients.
    sdpa = F.scaled_dot_product_attention

    def transposed_sdpa(q, k, v, **kwargs):
        out = sdpa(q, k, v, **kwargs)
        return out.transpose(1, 2).contiguous().transpose(1, 2)

    q, k, v = qkv(n)
    ref = reference_sec_attention(q, k, v, mode.get('num_clusters'), mode.get('cluster_size'))
    monkeypatch.setattr(sec_module.F, 'scaled_dot_product_attention', transposed_sdpa)
    out = sec_attention(q, k, v, **mode)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)
    for got, want in zip(grads(out, (q, k, v)), grads(ref, (q, k, v))):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)


def test_float32_fused_kernel_is_close_to_the_reference():
    q, k, v = qkv(1000, dtype=torch.float32)
    for mode in (dict(num_clusters=8), dict(cluster_size=98)):
        out = sec_attention(q, k, v, **mode)
        ref = reference_sec_attention(q, k, v, mode.get('num_clusters'), mode.get('cluster_size'))
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        for got, want in zip(grads(out, (q, k, v)), grads(ref, (q, k, v))):
            torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_complex_rope_equals_the_real_formula(dtype):
    rope = RotaryEmbedding2d(16).to(dtype)
    sin, cos, rotation = rope.tables(5, 7)
    torch.testing.assert_close(rotation, torch.complex(cos[:, ::2], sin[:, ::2]))
    assert rope.tables(5, 7)[2] is rotation  # cached with the sin/cos tables
    x = torch.randn(2, 35, 3, 16, dtype=dtype)
    fast = sec_module._rotate(x, (sin, cos, rotation))
    plain = apply_rope2d(x, sin[:, None], cos[:, None])
    torch.testing.assert_close(fast, plain, atol=1e-6 if dtype == torch.float32 else 1e-14, rtol=0)
    # the fallback (bf16 / compile) computes the real formula in x's dtype
    low = sec_module._rotate(x.to(torch.bfloat16), (sin, cos))
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.to(dtype), plain, atol=0.05, rtol=0.02)


@pytest.mark.parametrize('mode', MODES + [pytest.param(dict(), id='global')])
def test_module_outputs_and_gradients_equal_the_plain_path(mode):
    torch.manual_seed(0)
    attn = SECAttention(32, 2, **mode).double()
    x = torch.randn(2, 32, 7, 9, dtype=torch.float64, requires_grad=True)
    rope = RotaryEmbedding2d(16).double()

    def plain():  # the pre-optimisation formulation: one qkv conv, real RoPE, head-major, reference SEC
        b, c, h, w = x.shape
        q, k, v = attn.qkv(x).reshape(b, 3, 2, 16, h * w).transpose(-1, -2).unbind(1)
        sin, cos = rope(h, w)
        q, k = apply_rope2d(q, sin, cos), apply_rope2d(k, sin, cos)
        out = reference_sec_attention(q, k, v, mode.get('num_clusters'), mode.get('cluster_size'))
        out = out.transpose(-1, -2).reshape(b, c, h, w) + attn.lepe(v.transpose(-1, -2).reshape(b, c, h, w))
        return attn.out_proj(out)

    params = [x] + list(attn.parameters())
    want = plain()
    want_grads = grads(want, params)
    for tables in (rope(7, 9), rope.tables(7, 9)):
        out = attn(x, tables)
        torch.testing.assert_close(out, want, atol=1e-12, rtol=1e-12)
        for got, ref in zip(grads(out, params), want_grads):
            torch.testing.assert_close(got, ref, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('size', [(64, 64), (36, 72)])  # 36x72: every clustered stage is padded
def test_backbone_outputs_and_gradients_equal_the_reference_attention(mode, size):
    torch.manual_seed(0)
    model = SecViT(SMALL_ARCH, drop_path_rate=0., **mode).double().train()
    x = torch.randn(2, 3, *size, dtype=torch.float64)

    def run():
        outs = model(x)
        loss = sum((o * torch.linspace(-1, 1, o.numel(), dtype=o.dtype).view_as(o)).sum() for o in outs)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        return [o.detach() for o in outs], grads

    torch.manual_seed(1)
    outs, grad = run()
    with use_reference_attention(model):
        torch.manual_seed(1)
        ref_outs, ref_grad = run()
    for got, want in zip(outs, ref_outs):
        assert got.is_contiguous()  # plain NCHW outputs, although the blocks run channels-last
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)
    for (name, _), got, want in zip(model.named_parameters(), grad, ref_grad):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10, msg=name)


def test_backbone_equals_the_released_model_in_float64():
    torch.manual_seed(0)
    released = ReleasedSecViT.from_arch('tiny').double().eval()
    converted = convert_secvit_checkpoint(released.state_dict())
    model = SecViT('tiny').double().eval()
    model.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')})
    x = torch.randn(1, 3, 32, 64, dtype=torch.float64)  # 8x16 / 32, 4x8 / 8, 2x4 / 2: divisible
    with torch.no_grad():
        for got, want in zip(model(x), released.forward_features(x)):
            torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize('mode', MODES + [pytest.param(dict(num_clusters=None), id='global')])
def test_bf16_autocast_runs_forward_and_backward(mode):
    torch.manual_seed(0)
    model = SecViT(SMALL_ARCH, drop_path_rate=0., **mode).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        want = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = model(x)
    for g, w in zip(got, want):
        assert g.dtype == torch.bfloat16 and torch.isfinite(g).all()
        if mode == dict(num_clusters=None):
            # Without clustering the model is continuous: bf16 is close to float32. (With it, bf16
            # rounding of the keys moves many tokens to other clusters; see the next test.)
            assert ((g.float() - w).norm() / w.norm()).item() < 0.05
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = sum(o.float().mean() for o in model(x))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('n,mode', [(100, dict(num_clusters=8)), (300, dict(cluster_size=98))])
def test_bf16_attention_is_close_to_float32_on_the_same_values(n, mode):
    # Similarities of bf16 keys are computed in float32, so the clusters are those of float32 on the
    # same (bf16-representable) values; only the attention arithmetic is bf16.
    q, k, v = (t.detach().to(torch.bfloat16) for t in qkv(n, dtype=torch.float32, token_major=True))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = sec_attention(q, k, v, **mode)
    want = reference_sec_attention(q.float(), k.float(), v.float(), mode.get('num_clusters'), mode.get('cluster_size'))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, atol=2e-2, rtol=2e-2)


@pytest.mark.slow
def test_torch_compile_of_a_small_backbone_gives_the_same_output():
    torch.manual_seed(0)
    model = SecViT(SMALL_ARCH, drop_path_rate=0., num_clusters=(4, 2, 2, None)).eval()
    x = torch.randn(1, 3, 64, 96)
    compiled = torch.compile(model)
    with torch.no_grad():
        want = model(x)
        got = compiled(x)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-4, rtol=1e-4)
