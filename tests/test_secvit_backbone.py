"""SecViT backbone: the released arches exactly, any input size, and the mmengine conventions."""
import pytest
import torch

from secvit_mm.models.backbones import SecViT
from secvit_mm.models.necks import ConvPoolNeck


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,backbone_params,classifier_params', [
    ('tiny', 13_429_440, 14_981_800),
    ('small', 25_223_744, 26_776_104),
    ('base', 53_130_416, 54_682_776),
    ('large', 94_811_664, 96_495_096),
])
def test_parameter_counts_equal_the_released_models(arch, backbone_params, classifier_params):
    backbone = SecViT(arch)
    c4 = backbone.embed_dims[-1]
    head = torch.nn.Linear(1024, 1000)
    assert count(backbone) == backbone_params
    assert count(backbone) + count(ConvPoolNeck(c4, 1024)) + count(head) == classifier_params


@pytest.mark.parametrize('alias,name', [('t', 'tiny'), ('S', 'small'), ('b', 'base'), ('l', 'large')])
def test_short_arch_names_are_aliases(alias, name):
    assert SecViT.arch_zoo[alias.lower()] == SecViT.arch_zoo[name]


def test_unknown_arch_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown SecViT arch 'tinny'.*'tiny'"):
        SecViT('tinny')


def test_custom_arch_dict():
    model = SecViT(dict(embed_dims=[16, 32, 32, 64], depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4]))
    assert [o.shape[1] for o in model(torch.randn(1, 3, 64, 64))] == [16, 32, 32, 64]
    with pytest.raises(ValueError, match='needs the keys'):
        SecViT(dict(embed_dims=[16, 32, 32, 64], depths=[1, 1, 1, 1]))


@pytest.mark.parametrize('h,w', [(33, 47), (64, 64), (801, 1203)])
def test_four_maps_at_strides_4_8_16_32_rounded_up(h, w):
    model = SecViT('tiny', drop_path_rate=0.).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    for out, stride, channels in zip(outs, (4, 8, 16, 32), (64, 128, 256, 512)):
        assert out.shape == (1, channels, -(-h // stride), -(-w // stride))
        assert torch.isfinite(out).all()


def test_out_indices_select_stages_before_their_downsample():
    model = SecViT('tiny', out_indices=(1, 3)).eval()
    outs = model(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 128, 8, 12), (1, 512, 2, 3)]
    assert SecViT('tiny', out_indices=-1).out_indices == (3, )


def test_cluster_modes_int_tuple_and_precedence():
    paper = SecViT('tiny')
    assert paper.num_clusters == (32, 8, 2, None) and paper.cluster_size == (None, ) * 4
    sized = SecViT('tiny', num_clusters=(32, 8, 2, None), cluster_size=98)
    assert sized.cluster_size == (98, 98, 98, None) and sized.num_clusters == (None, ) * 4
    assert sized.stages[0].blocks[0].attn.cluster_size == 98
    assert sized.stages[3].blocks[0].attn.is_global
    per_stage = SecViT('tiny', num_clusters=(16, 4, 1, -1))
    assert per_stage.num_clusters == (16, 4, 1, None)
    assert SecViT('tiny', num_clusters=4).num_clusters == (4, 4, 4, None)
    for bad in (0, (32, 8, 2), 'many', (32, 8, 2, 0)):
        with pytest.raises(ValueError, match='num_clusters'):
            SecViT('tiny', num_clusters=bad)


def test_wrong_channel_count_and_tiny_images_are_clear_errors():
    model = SecViT('tiny')
    with pytest.raises(ValueError, match='built for 3 input channels, got 1'):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match='at least 32x32'):
        model(torch.randn(1, 3, 16, 64))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        model(torch.randn(3, 64, 64))


def test_frozen_stages_freeze_stem_and_early_stages():
    model = SecViT('tiny', frozen_stages=2)
    model.train()
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert not model.stem.training and not model.stages[1].training and model.stages[2].training


def test_norm_eval_keeps_batchnorm_statistics_fixed():
    model = SecViT('tiny', norm_eval=True)
    model.train()
    bn = model.stem[1]
    assert not bn.training
    before = bn.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(before, bn.running_mean)


def test_with_cp_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = SecViT('tiny', drop_path_rate=0.)
    checkpointed = SecViT('tiny', drop_path_rate=0., with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outs = []
    for model in (plain, checkpointed):
        model.train()
        out = model(x)
        sum(o.square().mean() for o in out).backward()
        outs.append((out, {n: p.grad for n, p in model.named_parameters()}))
    for a, b in zip(outs[0][0], outs[1][0]):
        torch.testing.assert_close(a, b)
    for name, grad in outs[0][1].items():
        torch.testing.assert_close(grad, outs[1][1][name], atol=1e-6, rtol=1e-5, msg=name)


def test_drop_path_defaults_to_the_arch_rate():
    model = SecViT('small')
    rates = [b.drop_path.drop_prob for s in model.stages for b in s.blocks if hasattr(b.drop_path, 'drop_prob')]
    assert max(rates) == pytest.approx(0.15)
    assert SecViT('small', drop_path_rate=0.).stages[3].blocks[-1].drop_path.__class__.__name__ == 'Identity'
