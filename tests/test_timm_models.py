"""timm's model contract on every name secvit_mm registers, released weights through timm, SEC options.

The contract is the logic of timm's own ``tests/test_models.py`` (forward, backward, default cfg,
``features_only``, ``forward_intermediates``), run at small input sizes so that CI stays fast.
"""
import copy
import math
import os.path as osp

import pytest
import timm
import torch
from timm.models import FeatureInfo
from timm.models._features import FeatureGetterNet

import secvit_mm  # noqa: F401  (registers timm's names)
from secvit_mm.core.secvit import convert_secvit_checkpoint
from secvit_mm.testing.released_ceit import to_released
from secvit_mm.testing.released_secvit import ReleasedSecViT

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

NAMES = ['secvit_tiny', 'secvit_small', 'secvit_base', 'secvit_large', 'ceit_tiny', 'ceit_small', 'ceit_base',
         'sec_swin_tiny', 'sec_swin_small', 'sec_fastervit_0', 'sec_fastervit_1']
PYRAMIDS = [n for n in NAMES if not n.startswith('ceit')]
SIZE = 32  # input side: timm tests at up to 384 / 128 / 96; 32 (the total stride) keeps CI fast
# Built through create_model(features_only=True); the other names get the same wrapper on their cached model.
FEATURES_BUILT = ['secvit_tiny', 'ceit_tiny', 'sec_swin_tiny', 'sec_fastervit_0']
_MODELS = {}


def built(name: str) -> torch.nn.Module:
    """A fresh copy of ``timm.create_model(name)`` in eval mode (each name is built once per session)."""
    if name not in _MODELS:
        torch.manual_seed(0)
        _MODELS[name] = timm.create_model(name).eval()
    return copy.deepcopy(_MODELS[name])


def test_every_name_is_registered_in_timm():
    assert set(NAMES) <= set(timm.list_models('secvit_*') + timm.list_models('ceit_*') +
                             timm.list_models('sec_*'))


@pytest.mark.parametrize('name', NAMES)
def test_forward_gives_one_row_of_finite_logits_per_image(name):
    model = built(name)
    with torch.no_grad():
        out = model(torch.randn(1, 3, SIZE, SIZE))
    assert out.shape == (1, model.num_classes) == (1, 1000)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('name', NAMES)
def test_backward_reaches_every_parameter_with_a_new_number_of_classes(name):
    model = built(name)  # as timm.create_model(name, num_classes=42), without building it again
    model.reset_classifier(42)
    model.train()
    num_params = sum(p.numel() for p in model.parameters())
    out = model(torch.randn(2, 3, SIZE, SIZE))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f'no gradient for {missing[:5]}'
    assert sum(p.grad.numel() for p in model.parameters()) == num_params
    assert out.shape == (2, 42) and not torch.isnan(out).any()


@pytest.mark.parametrize('name', NAMES)
def test_default_cfg_names_real_layers_and_the_head_behaves_as_timm_expects(name):
    model = built(name)
    cfg, state_dict = model.pretrained_cfg, model.state_dict()
    assert cfg['input_size'] == (3, 224, 224) and len(cfg['mean']) == len(cfg['std']) == 3
    assert cfg['first_conv'] + '.weight' in state_dict
    assert cfg['classifier'] + '.weight' in state_dict
    assert model.num_classes == 1000 and model.num_features > 0 and model.head_hidden_size > 0
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        features = model.forward_features(x)
        pre_logits = model.forward_head(features, pre_logits=True)
        assert pre_logits.shape == (1, model.head_hidden_size)
        if name in PYRAMIDS:  # unpooled NCHW at stride 32: the cfg's pool_size at 224
            assert features.shape == (1, model.num_features, SIZE // 32, SIZE // 32)
            assert tuple(cfg['pool_size']) == (224 // 32, 224 // 32)
        else:  # the class tokens of all blocks (what LCA pools), channels last as timm's ViTs
            assert features.shape[-1] == model.num_features and features.ndim == 3
        model.reset_classifier(0)
        pooled = model(x)
        assert pooled.shape == (1, model.head_hidden_size) and model.get_classifier() is not None
        if name in PYRAMIDS:
            model.reset_classifier(0, '')  # no pooling either: a map at stride 32
            unpooled = model(x)
            assert unpooled.ndim == 4 and unpooled.shape[-2:] == (SIZE // 32, SIZE // 32)
        model.reset_classifier(7, 'avg' if name in PYRAMIDS else 'token')
        assert model(x).shape == (1, 7)


@pytest.mark.parametrize('name', NAMES)
def test_features_only_gives_the_levels_of_its_feature_info(name):
    if name in FEATURES_BUILT:
        model = timm.create_model(name, features_only=True).eval()
    else:  # what build_model_with_cfg does with features_only=True, without building the model again
        levels = (3, 5, 8, 11) if name.startswith('ceit') else (0, 1, 2, 3)
        model = FeatureGetterNet(built(name), out_indices=levels).eval()
    channels, reductions = model.feature_info.channels(), model.feature_info.reduction()
    assert len(channels) >= 3
    size = (96, 80)  # timm's feature size, not square
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, *size))
    assert len(outputs) == len(channels)
    for c, r, o in zip(channels, reductions, outputs):
        assert o.shape[:2] == (1, c)
        assert o.shape[2] <= math.ceil(size[0] / r) + 1 and o.shape[3] <= math.ceil(size[1] / r) + 1
        assert not torch.isnan(o).any()


@pytest.mark.parametrize('name', NAMES)
def test_forward_intermediates_matches_forward_features_also_with_grad_checkpointing(name):
    model = built(name)
    info = FeatureInfo(model.feature_info, len(model.feature_info))
    channels, reductions = info.channels(), info.reduction()
    assert len(channels) >= 3
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        final, intermediates = model.forward_intermediates(x, output_fmt='NCHW')
        assert len(intermediates) == len(channels)
        for c, r, o in zip(channels, reductions, intermediates):
            assert o.shape[:2] == (1, c) and o.shape[2] <= math.ceil(SIZE / r) + 1
            assert not torch.isnan(o).any()
        assert torch.allclose(final, model.forward_features(x))
        model.set_grad_checkpointing()
        again, _ = model.forward_intermediates(x, output_fmt='NCHW')
    assert torch.allclose(final, again, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize('name', ['sec_swin_tiny', 'sec_fastervit_0'])
def test_features_only_pyramids_put_an_output_norm_on_every_level_as_the_mm_backbone(name):
    model = timm.create_model(name, features_only=True, out_indices=(1, 3))
    norms = sorted(k.split('.')[1] for k in model.state_dict() if k.startswith('model.norm'))
    assert sorted(set(norms)) == ['norm1', 'norm3']
    assert model.feature_info.reduction() == [8, 32]


def test_features_only_takes_a_detection_size_image():
    model = timm.create_model('secvit_tiny', features_only=True).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 801, 1203))
    assert [tuple(o.shape[2:]) for o in outputs] == [(201, 301), (101, 151), (51, 76), (26, 38)]


def test_sec_options_pass_through_create_model():
    model = timm.create_model('secvit_tiny', cluster_size=49, drop_path_rate=0.05, num_classes=3)
    attn = model.stages[0].blocks[0].attn
    assert attn.cluster_size == 49 and attn.num_clusters is None
    assert model.stages[3].blocks[0].attn.is_global  # the last stage stays global
    with pytest.raises(TypeError, match=r"'cluster_sise' \(did you mean 'cluster_size'\?\)"):
        timm.create_model('secvit_tiny', cluster_sise=49)


def test_prune_intermediate_layers_keeps_the_stages_up_to_the_last_index():
    model = built('secvit_tiny')
    assert model.prune_intermediate_layers((0, 1)) == [0, 1]
    assert len(model.stages) == 2 and model.stages[1].downsample is None and model.num_classes == 0
    with torch.no_grad():
        maps = model.forward_intermediates(torch.randn(1, 3, SIZE, SIZE), intermediates_only=True)
    assert [m.shape[1] for m in maps] == [64, 128]


# ------------------------------------------------------------------------------- released weights
def mm_classifier(config: str) -> torch.nn.Module:
    """The mmpretrain classifier of one of the package's ImageNet configs (the mm path), built in
    the config's scope whatever default scope an earlier test left."""
    from secvit_mm.apis import build_model
    return build_model(osp.join(ROOT, 'configs', config), cfg_options={'model.backbone.init_cfg': None}).train()


def with_trained_statistics(model: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial BN statistics, as after training, so that every tensor of a mapping matters."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_released_secvit_file_loads_through_timm_with_the_logits_of_the_mm_path(tmp_path):
    torch.manual_seed(0)
    released = with_trained_statistics(ReleasedSecViT.from_arch('tiny'))
    path = tmp_path / 'secvit_t.pth'
    torch.save({'model': released.state_dict()}, path)
    mm = mm_classifier('secvit_t_in1k.py').eval()
    mm.load_state_dict(convert_secvit_checkpoint(released.state_dict()), strict=True)

    model = timm.create_model('secvit_tiny', pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert max_rel_diff(model(x), mm(x, mode='tensor')) <= 1e-5


def test_released_ceit_file_loads_through_timm_with_the_logits_of_the_mm_path(tmp_path):
    torch.manual_seed(0)
    mm = mm_classifier('ceit_t_in1k.py')
    mm.init_weights()
    mm = with_trained_statistics(mm)
    path = tmp_path / 'ceit_t.pth'
    torch.save({'model': to_released(mm.state_dict())}, path)

    model = timm.create_model('ceit_tiny', pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert max_rel_diff(model(x), mm(x, mode='tensor')) <= 1e-5
