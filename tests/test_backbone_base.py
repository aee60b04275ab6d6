"""The shell the four backbones share (``backbones/base.py``, ``layers/stage.py``): one arch format,
the same checks, init in ``init_weights``, strict pretrained loading, and a ``norm_cfg`` that takes SyncBN.
"""
import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS
from torch import nn

import secvit_mm  # noqa: F401
from secvit_mm.models.backbones.base import per_stage
from secvit_mm.models.layers import Stage

# Small archs of each backbone, so every test runs in well under a second.
TINY = {
    'SecViT': dict(arch=dict(embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 4])),
    'SECSwin': dict(arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8]), out_indices=(0, 3)),
    'SECFasterViT': dict(arch=dict(dim=16, in_dim=8, depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8]),
                         out_indices=(1, 3)),
    'CeiT': dict(arch=dict(embed_dims=32, num_layers=4, num_heads=2)),
}
BACKBONES = list(TINY)


def build(name: str, **overrides) -> nn.Module:
    return MODELS.build(dict(type=name, **{**TINY[name], **overrides}))


@pytest.mark.parametrize('name', BACKBONES)
def test_an_unknown_arch_name_gets_the_same_error_from_every_backbone(name):
    with pytest.raises(ValueError, match=rf"^Unknown {name} arch 'nope'; choose one of \['"):
        build(name, arch='nope')


@pytest.mark.parametrize('name', BACKBONES)
def test_a_custom_arch_with_a_missing_key_names_the_keys_it_needs(name):
    with pytest.raises(ValueError, match=rf'^A custom {name} arch needs the keys .*got \[.depths.\]'):
        build(name, arch=dict(depths=[1, 1, 1, 1]))


@pytest.mark.parametrize('name', BACKBONES)
def test_a_misspelt_keyword_names_the_closest_valid_one(name):
    with pytest.raises(TypeError, match=r"'frozen_stage' \(did you mean 'frozen_stages'\?\); valid arguments: arch"):
        build(name, frozen_stage=1)


@pytest.mark.parametrize('name', BACKBONES)
def test_nan_input_is_refused_by_every_backbone(name):
    x = torch.zeros(1, 3, 64, 64)
    x[0, 1, 5, 7] = float('nan')
    with pytest.raises(ValueError, match=rf'^{name} input contains non-finite values \(1 NaN, 0 inf'):
        build(name).eval()(x)


@pytest.mark.parametrize('name', BACKBONES)
def test_a_wrong_channel_count_is_refused_by_every_backbone(name):
    with pytest.raises(ValueError, match=rf'^{name} was built for 3 input channels, got 1'):
        build(name)(torch.zeros(1, 1, 64, 64))


@pytest.mark.parametrize('name', BACKBONES)
def test_the_random_init_is_drawn_in_init_weights_and_only_once(name):
    model = build(name)
    # CeiT's linear layers are nn.Linear; the pyramids' are 1x1 convs.
    kind = nn.Linear if any(isinstance(m, nn.Linear) for m in model.modules()) else nn.Conv2d
    linear = [m for m in model.modules() if type(m) is kind and m.weight.numel() > 2000
              and (kind is nn.Linear or m.kernel_size == (1, 1))][-1]
    before = linear.weight.detach().clone()
    model.init_weights()
    after = linear.weight.detach().clone()
    assert not torch.equal(before, after)
    assert 0.017 < float(after.std()) < 0.023  # trunc-normal std 0.02 (PyTorch's default is wider)
    if linear.bias is not None:
        assert not linear.bias.any()
    model.init_weights()  # mmengine initialises a module once
    assert torch.equal(linear.weight, after)


@pytest.mark.parametrize('name', BACKBONES)
def test_a_pretrained_init_cfg_loads_every_tensor_of_the_backbone(name, tmp_path):
    source = build(name)
    source.init_weights()
    path = tmp_path / 'classifier.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    target = build(name, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    target.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


@pytest.mark.parametrize('name', BACKBONES)
def test_a_pretrained_checkpoint_of_another_shape_is_refused_naming_the_key(name, tmp_path):
    state = build(name).state_dict()
    key = next(k for k, v in state.items() if v.dim() == 4)
    state[key] = torch.zeros(1, 1, 1, 1)
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}}, path)
    model = build(name, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(ValueError, match=rf'does not fit this {name} .*shape mismatch: {key}: checkpoint'):
        model.init_weights()


@pytest.mark.parametrize('name', ['SecViT', 'SECFasterViT', 'CeiT'])
def test_sync_bn_replaces_every_batchnorm_with_the_same_keys_and_outputs(name):
    bn = build(name).eval()
    bn.init_weights()
    for m in bn.modules():  # non-trivial statistics, so that every buffer matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    sync = build(name, norm_cfg=dict(type='SyncBN'))
    assert any(isinstance(m, nn.SyncBatchNorm) for m in sync.modules())
    assert not any(type(m) is nn.BatchNorm2d for m in sync.modules())
    assert list(sync.state_dict()) == list(bn.state_dict())
    sync.load_state_dict(bn.state_dict(), strict=True)
    cpu = revert_sync_batchnorm(sync).eval()  # what a single-process CPU run does with a SyncBN config
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        for got, expected in zip(cpu(x), bn(x)):
            assert torch.equal(got, expected)


def test_fastervit_stem_keeps_its_batchnorm_eps_under_another_norm_cfg():
    model = build('SECFasterViT', norm_cfg=dict(type='SyncBN'))
    assert model.stem[1].eps == 1e-4 and model.stages[0].blocks[0].norm1.eps == 1e-5
    assert build('SECFasterViT', norm_cfg=dict(type='BN', eps=1e-3)).stem[1].eps == 1e-3


def test_per_stage_spreads_an_int_over_the_clustered_stages_and_keeps_the_last_global():
    assert per_stage(8, 'num_clusters', 4) == (8, 8, 8, None)
    assert per_stage(4, 'num_clusters', 4, first=2) == (None, None, 4, None)
    assert per_stage((8, -1), 'num_clusters', 4, first=2) == (None, None, 8, None)
    assert per_stage(None, 'num_clusters', 4) == (None, ) * 4
    with pytest.raises(ValueError, match=r'\(stage 3; the last stays global\) or a sequence of 2 '):
        per_stage((1, 2, 3), 'num_clusters', 4, first=2)


class _Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.ropes = []

    def forward(self, x, rope):
        self.ropes.append(rope)
        return x + 1


def test_a_stage_shares_one_rope_table_among_its_blocks_and_returns_the_feature_before_downsampling():
    blocks = [_Recorder(), _Recorder()]
    stage = Stage(blocks, nn.AvgPool2d(2), head_dim=8)
    feature, below = stage(torch.zeros(1, 8, 4, 6))
    assert torch.equal(feature, torch.full((1, 8, 4, 6), 2.))
    assert below.shape == (1, 8, 2, 3)
    assert blocks[0].ropes[0] is blocks[1].ropes[0] and blocks[0].ropes[0][0].shape == (24, 8)
    plain = Stage([_Recorder()])
    assert plain(torch.zeros(1, 8, 4, 6))[1].shape == (1, 8, 4, 6) and plain.blocks[0].ropes == [None]


def test_a_dense_ceit_checkpoint_loads_its_pyramid_too_through_pretrained_init(tmp_path):
    """The pyramid is optional in a Pretrained checkpoint (ImageNet has none), not unexpected."""
    dense = dict(out_type='featmap', out_indices=(0, 1, 2, 3))
    source = build('CeiT', **dense)
    source.init_weights()
    path = tmp_path / 'mask_rcnn_ceit.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    target = build('CeiT', init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'), **dense)
    target.init_weights()
    assert torch.equal(target.pyramid.up2x.weight, source.pyramid.up2x.weight)
