"""CeiT backbone, its mmpretrain configs and the released-checkpoint converter."""
import argparse
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import secvit_mm  # noqa: F401  (registers CeiT in mmengine's root MODELS)
from mmpretrain.registry import MODELS
from secvit_mm.core.ceit import LeFF
from secvit_mm.models.backbones.ceit import CeiT, convert_ceit_checkpoint
from secvit_mm.testing.released_ceit import to_released

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def build_classifier(config: str, **backbone):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.model.backbone.update(backbone)
    return MODELS.build(cfg.model)


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def randomized(model: torch.nn.Module) -> torch.nn.Module:
    """init_weights plus non-trivial BN statistics, so every tensor of a mapping matters."""
    model.init_weights()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-.5, .5)
            m.running_var.uniform_(.5, 2.)
    return model.eval()


@pytest.fixture(scope='module')
def tiny_classifier():
    torch.manual_seed(0)
    return randomized(build_classifier('ceit_t_in1k.py'))


# ------------------------------------------------------------------------------ parameter counts
@pytest.mark.parametrize('config, expected', [
    ('ceit_t_in1k.py', 6_356_904),
    ('ceit_s_in1k.py', 24_204_840),
    ('ceit_b_in1k.py', 94_405_416),
])
def test_config_classifiers_have_the_released_parameter_counts(config, expected):
    with torch.device('meta'):  # shapes only; the count is the same as on CPU
        model = build_classifier(config)
    assert num_params(model) == expected


@pytest.mark.parametrize('arch, expected', [('tiny-384', 6_429_864), ('small-384', 24_350_760)])
def test_384_variants_have_577_position_slots_and_the_released_counts(arch, expected):
    config = 'ceit_t_in1k.py' if arch.startswith('tiny') else 'ceit_s_in1k.py'
    with torch.device('meta'):
        model = build_classifier(config, arch=arch)
    assert model.backbone.pos_embed.shape[1] == 577
    assert num_params(model) == expected


def test_tiny_classifier_count_holds_on_cpu(tiny_classifier):
    assert num_params(tiny_classifier) == 6_356_904


def test_pyramid_exists_only_in_featmap_mode():
    cls_mode = CeiT('tiny')
    featmap = CeiT('tiny', out_type='featmap')
    assert not hasattr(cls_mode, 'pyramid')
    assert not hasattr(featmap, 'lca') and not hasattr(featmap, 'final_norm')


# --------------------------------------------------------------------------------------- outputs
@pytest.mark.parametrize('size', [(224, 224), (97, 131)])
def test_cls_mode_returns_one_class_feature_per_image(size):
    backbone = CeiT('tiny').eval()
    with torch.no_grad():
        out = backbone(torch.randn(1, 3, *size))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (1, 192)


@pytest.mark.parametrize('size, grid', [((224, 224), (14, 14)), ((97, 131), (7, 9))])
def test_featmap_mode_returns_strides_4_8_16_32_of_the_16_padded_image(size, grid):
    # grid = ceil(H / 16), ceil(W / 16); stride 32 is ceil(grid / 2).
    backbone = CeiT('tiny', out_type='featmap').eval()
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, *size))
    h, w = grid
    assert [tuple(o.shape) for o in outs] == [
        (1, 192, 4 * h, 4 * w), (1, 192, 2 * h, 2 * w), (1, 192, h, w),
        (1, 192, -(-h // 2), -(-w // 2))]


def test_featmap_mode_gives_every_parameter_a_gradient():
    # Blocks after the last out index are not built: nothing is unused under DDP.
    backbone = CeiT('tiny', out_type='featmap', out_indices=(1, 2, 4, 6)).train()
    assert len(backbone.layers) == 7
    sum(o.mean() for o in backbone(torch.randn(2, 3, 48, 80))).backward()
    no_grad = [n for n, p in backbone.named_parameters() if p.grad is None]
    assert no_grad == []


def test_leff_mixes_each_token_with_its_3x3_neighbours_on_a_non_square_grid():
    torch.manual_seed(0)
    leff = LeFF(8).eval()
    h, w = 3, 5
    x = torch.randn(1, 1 + h * w, 8)
    poked = x.clone()
    row, col = 1, 3
    poked[0, 1 + row * w + col] += 1.
    with torch.no_grad():
        changed = (leff(poked, (h, w)) - leff(x, (h, w))).abs().sum(-1)[0] > 0
    assert not changed[0], 'the class token must pass through LeFF unchanged'
    expected = torch.zeros(h, w, dtype=torch.bool)
    expected[row - 1:row + 2, col - 1:col + 2] = True
    assert torch.equal(changed[1:].reshape(h, w), expected)


def test_leff_returns_its_input_class_token():
    leff = LeFF(8).eval()
    x = torch.randn(2, 1 + 6, 8)
    assert torch.equal(leff(x, (2, 3))[:, 0], x[:, 0])


# --------------------------------------------------------------------------- position embedding
def test_position_embedding_is_used_as_is_when_the_grid_matches():
    backbone = CeiT('tiny')
    assert backbone._pos_embed_for((14, 14)) is backbone.pos_embed


def test_position_embedding_is_resized_for_other_grids_keeping_the_class_slot():
    backbone = CeiT('tiny')
    backbone.init_weights()
    resized = backbone._pos_embed_for((7, 9))
    assert resized.shape == (1, 1 + 7 * 9, 192)
    assert torch.equal(resized[:, 0], backbone.pos_embed[:, 0])


def test_loading_a_224_backbone_into_a_384_one_resizes_the_position_embedding():
    src = CeiT('tiny')
    src.init_weights()
    dst = CeiT('tiny-384')
    dst.load_state_dict(src.state_dict())
    assert dst.pos_embed.shape == (1, 577, 192)
    assert torch.equal(dst.pos_embed[:, 0], src.pos_embed[:, 0])


def test_classification_weights_load_strictly_except_the_pyramid_into_featmap_mode():
    featmap = CeiT('tiny', out_type='featmap', out_indices=(2, 5, 8, 10))
    result = featmap.load_state_dict(CeiT('tiny').state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(k.startswith('pyramid.') for k in result.missing_keys)


# ------------------------------------------------------------------------------------ converter
def test_converted_released_checkpoint_reproduces_the_logits(tiny_classifier):
    released = to_released(tiny_classifier.state_dict())
    assert {'cls_token', 'pos_embed', 'pos_layer_embed', 'i2t.backbone.conv.weight',
            'i2t.proj.weight', 'blocks.11.leff.conv3.bias', 'blocks.11.leff.bn3.running_var',
            'lca.feedforward.fc2.weight', 'norm.bias', 'head.weight'} <= set(released)

    converted = convert_ceit_checkpoint(released)
    fresh = build_classifier('ceit_t_in1k.py').eval()
    fresh.load_state_dict(converted, strict=True)

    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(fresh(x, mode='tensor'), tiny_classifier(x, mode='tensor'))


def test_converter_refuses_weights_of_another_arch(tiny_classifier):
    with torch.device('meta'):
        small = build_classifier('ceit_s_in1k.py')
    with pytest.raises(ValueError, match=r"arch 'tiny'.*cls_token \(backbone\.cls_token\): "
                       r'checkpoint \(1, 1, 384\) vs expected \(1, 1, 192\)'):
        convert_ceit_checkpoint(to_released(small.state_dict()), arch='tiny')


def test_converter_refuses_another_layout():
    deit = MODELS.build(dict(type='VisionTransformer', arch='deit-tiny'))
    with pytest.raises(ValueError, match=r'missing keys.*backbone\.i2t\.conv.*'
                       r'unexpected keys: layers\.0\.attn'):
        convert_ceit_checkpoint(deit.state_dict())


def test_converter_refuses_an_already_converted_state_dict(tiny_classifier):
    with pytest.raises(ValueError, match='already has mmpretrain keys'):
        convert_ceit_checkpoint(tiny_classifier.state_dict())


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_ceit',
                                                  osp.join(ROOT, 'tools', 'convert_ceit.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_convert_tool_writes_once_and_picks_ema_on_request(tmp_path, tiny_classifier):
    tool = load_tool()
    released = to_released(tiny_classifier.state_dict())
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in released.items()}
    src, dst = tmp_path / 'ceit_tiny.pth', tmp_path / 'out' / 'ceit_t.pth'
    # DeiT-style training checkpoints carry their argparse.Namespace.
    torch.save(dict(model=released, model_ema=ema, args=argparse.Namespace(lr=1e-3)), src)

    assert tool.main([str(src), str(dst)]) == 0
    written = torch.load(dst, weights_only=True)['state_dict']
    assert torch.equal(written['backbone.cls_token'], released['cls_token'])

    with pytest.raises(SystemExit, match='exists'):  # dst exists, no --force
        tool.main([str(src), str(dst), '--ema'])
    assert torch.equal(torch.load(dst, weights_only=True)['state_dict']['backbone.cls_token'],
                       released['cls_token'])

    assert tool.main([str(src), str(dst), '--ema', '--force']) == 0
    written = torch.load(dst, weights_only=True)['state_dict']
    assert torch.equal(written['backbone.cls_token'], ema['cls_token'])
    assert sorted(p.name for p in dst.parent.iterdir()) == ['ceit_t.pth']  # no temp files left


# -------------------------------------------------------------------------------- bad input/args
def test_wrong_channel_count_says_expected_and_got():
    with pytest.raises(ValueError, match='built for 3 input channels, got 1'):
        CeiT('tiny')(torch.randn(1, 1, 64, 64))


def test_too_small_image_is_refused():
    with pytest.raises(ValueError, match=r'at least 16x16 \(one token\), got \(1, 3, 8, 64\)'):
        CeiT('tiny')(torch.randn(1, 3, 8, 64))


def test_unknown_arch_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown CeiT arch 'huge'.*'small-384'.*'tiny'"):
        CeiT('huge')


def test_featmap_mode_needs_four_out_indices():
    with pytest.raises(ValueError, match='exactly 4 out_indices'):
        CeiT('tiny', out_type='featmap', out_indices=(5, 11))


# --------------------------------------------------------------------------------- train modes
def test_frozen_stages_freeze_stem_tokens_and_first_blocks():
    backbone = CeiT('tiny', frozen_stages=2).train()
    assert not backbone.cls_token.requires_grad and not backbone.pos_embed.requires_grad
    assert not any(p.requires_grad for p in backbone.i2t.parameters())
    assert not any(p.requires_grad for p in backbone.layers[1].parameters())
    assert all(p.requires_grad for p in backbone.layers[2].parameters())
    assert not backbone.i2t.bn.training and not backbone.layers[1].leff.expand.bn.training
    assert backbone.layers[2].leff.expand.bn.training


def test_norm_eval_keeps_batchnorm_statistics_frozen():
    backbone = CeiT('tiny', norm_eval=True).train()
    bns = [m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert backbone.layers[0].ln1.training


def test_gradient_checkpointing_gives_the_same_output():
    torch.manual_seed(0)
    plain = CeiT('tiny', out_type='featmap', norm_eval=True).train()
    ckpt = CeiT('tiny', out_type='featmap', norm_eval=True, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 64, 48)
    for a, b in zip(plain(x), ckpt(x)):
        torch.testing.assert_close(a, b)


# ------------------------------------------------------------------ init_cfg=dict(type='Pretrained')
def pretrained(path, **kwargs) -> CeiT:
    return CeiT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'), **kwargs)


def test_pretrained_init_loads_a_classifier_checkpoint_into_featmap_mode_keeping_the_pyramid(
        tmp_path, tiny_classifier):
    path = tmp_path / 'ceit_t_in1k.pth'
    torch.save({'state_dict': tiny_classifier.state_dict()}, path)
    torch.manual_seed(1)
    dense = pretrained(path, out_type='featmap', out_indices=(2, 5, 8, 10))
    pyramid_before = {k: v.clone() for k, v in dense.pyramid.state_dict().items()}
    dense.init_weights()
    source = tiny_classifier.backbone.state_dict()
    for key, value in dense.state_dict().items():
        if key.startswith('pyramid.'):
            assert torch.equal(value, pyramid_before[key[len('pyramid.'):]])
        else:
            assert torch.equal(value, source[key]), key


def test_pretrained_init_converts_a_released_checkpoint(tmp_path, tiny_classifier):
    path = tmp_path / 'ceit_tiny_released.pth'
    torch.save({'model': to_released(tiny_classifier.state_dict())}, path)
    model = pretrained(path)
    model.init_weights()
    assert torch.equal(model.layers[11].leff.reduce.bn.running_var,
                       tiny_classifier.backbone.layers[11].leff.reduce.bn.running_var)


def test_pretrained_init_refuses_another_arch_naming_the_mismatch(tmp_path):
    path = tmp_path / 'ceit_s.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in CeiT('small').state_dict().items()}}, path)
    with pytest.raises(ValueError, match=r'does not fit this CeiT .*shape mismatch: cls_token'):
        pretrained(path).init_weights()


def test_pretrained_init_says_how_to_get_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/convert_ceit.py'):
        pretrained(tmp_path / 'nowhere.pth').init_weights()
