"""Bad inputs and arguments give clear errors (the table of docs/robustness.md), and any image size
from 32 to 1024 per side goes through SecViT-T and CeiT-T (hypothesis).
"""
import os.path as osp
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmengine.config import Config
from mmengine.registry import MODELS

import secvit_mm  # noqa: F401
from secvit_mm.checks.preflight import check_checkpoint_paths, check_data_paths
from secvit_mm.models.backbones.ceit import CeiT
from secvit_mm.models.backbones.secvit import SecViT

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = dict(embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 4])
CEIT_TINY = dict(embed_dims=32, num_layers=4, num_heads=2)


@pytest.fixture(scope='module')
def secvit():
    return SecViT(arch=TINY).eval()


@pytest.fixture(scope='module')
def ceit():
    return CeiT(arch=CEIT_TINY, out_indices=(0, 1, 2, 3)).eval()


def _nan(shape):
    x = torch.zeros(shape)
    x[0, 0, 3, 5] = float('nan')
    return x


def _inf(shape):
    x = torch.zeros(shape)
    x[..., -1] = float('inf')
    return x


# (id, input, expected error type, substring of the message)
SECVIT_INPUTS = [
    ('wrong channels', lambda: torch.zeros(1, 1, 64, 64), ValueError, 'built for 3 input channels, got 1'),
    ('smaller than stride', lambda: torch.zeros(1, 3, 31, 64), ValueError, 'at least 32x32 (its total stride)'),
    ('zero height', lambda: torch.zeros(1, 3, 0, 64), ValueError, 'at least 32x32'),
    ('empty batch', lambda: torch.zeros(0, 3, 64, 64), ValueError, 'non-empty batch'),
    ('3-D tensor', lambda: torch.zeros(3, 64, 64), ValueError, 'expects an (N, C, H, W) tensor, got (3, 64, 64)'),
    ('5-D tensor', lambda: torch.zeros(1, 1, 3, 64, 64), ValueError, 'expects an (N, C, H, W) tensor'),
    ('numpy array', lambda: torch.zeros(1, 3, 64, 64).numpy(), ValueError, 'tensor, got ndarray'),
    ('NaN', lambda: _nan((1, 3, 64, 64)), ValueError, 'non-finite values (1 NaN, 0 inf'),
    ('inf', lambda: _inf((1, 3, 64, 64)), ValueError, 'non-finite values (0 NaN, 192 inf'),
]

CEIT_INPUTS = [
    ('wrong channels', lambda: torch.zeros(1, 4, 64, 64), ValueError, 'built for 3 input channels, got 4'),
    ('smaller than a token', lambda: torch.zeros(1, 3, 15, 64), ValueError, 'at least 16x16 (one token)'),
    ('zero width', lambda: torch.zeros(1, 3, 64, 0), ValueError, 'at least 16x16 (one token)'),
    ('empty batch', lambda: torch.zeros(0, 3, 64, 64), ValueError, 'empty batch'),
    ('3-D tensor', lambda: torch.zeros(3, 64, 64), ValueError, 'expects an (N, C, H, W) tensor, got (3, 64, 64)'),
    ('numpy array', lambda: torch.zeros(1, 3, 64, 64).numpy(), ValueError, 'tensor, got ndarray'),
    ('NaN', lambda: _nan((1, 3, 64, 64)), ValueError, 'non-finite values (1 NaN'),
    ('inf', lambda: _inf((1, 3, 64, 64)), ValueError, 'inf of'),
]


@pytest.mark.parametrize('make, error, message', [r[1:] for r in SECVIT_INPUTS], ids=[r[0] for r in SECVIT_INPUTS])
def test_secvit_bad_input(secvit, make, error, message):
    with pytest.raises(error) as info:
        secvit(make())
    assert message in str(info.value)


@pytest.mark.parametrize('make, error, message', [r[1:] for r in CEIT_INPUTS], ids=[r[0] for r in CEIT_INPUTS])
def test_ceit_bad_input(ceit, make, error, message):
    with pytest.raises(error) as info:
        ceit(make())
    assert message in str(info.value)


# (id, backbone config as in model.backbone, expected error type, substring)
BAD_ARGUMENTS = [
    ('unknown arch', dict(type='SecViT', arch='tinny'), ValueError,
     "Unknown SecViT arch 'tinny'; choose one of ['b', 'base', 'l', 'large', 's', 'small', 't', 'tiny']"),
    ('kwarg typo', dict(type='SecViT', num_cluster=4), TypeError,
     "'num_cluster' (did you mean 'num_clusters'?); valid arguments: arch, in_channels, num_clusters"),
    ('kwarg typo 2', dict(type='SecViT', clustre_size=98), TypeError, "did you mean 'cluster_size'?"),
    # mmengine names the current default scope (mmengine::, mmdet::, ...): whichever ran last.
    ('unknown type', dict(type='SecVit'), KeyError, 'SecVit is not in the <scope>::model registry'),
    ('num_clusters 0', dict(type='SecViT', num_clusters=0), ValueError,
     'num_clusters must be a positive int or None, got 0'),
    ('num_clusters negative', dict(type='SecViT', num_clusters=(32, 8, -2, None)), ValueError,
     'num_clusters must be None, a positive int (stages 1-3; the last stays global) or a sequence of 4'),
    ('num_clusters too short', dict(type='SecViT', num_clusters=(32, 8)), ValueError, 'a sequence of 4'),
    ('num_clusters float', dict(type='SecViT', num_clusters=2.5), ValueError, 'got 2.5'),
    ('num_clusters bool', dict(type='SecViT', num_clusters=True), ValueError, 'got True'),
    ('cluster_size 0', dict(type='SecViT', cluster_size=0), ValueError,
     'cluster_size must be a positive int or None, got 0'),
    ('cluster_size str', dict(type='SecViT', cluster_size='98'), ValueError, "cluster_size must be None, a positive int"),
    ('custom arch heads', dict(type='SecViT', arch=dict(embed_dims=[64, 128, 256, 512], depths=[1] * 4,
                                                        num_heads=[3, 4, 8, 16])), ValueError,
     'head_dim must be an integer divisible by 4'),
    ('ceit unknown arch', dict(type='CeiT', arch='tinny'), ValueError,
     "Unknown CeiT arch 'tinny'; choose one of ['b', 'base', 's'"),
    ('ceit kwarg typo', dict(type='CeiT', drop_path=0.1), TypeError,
     "'drop_path' (did you mean 'drop_path_rate'?); valid arguments: arch, img_size"),
    ('ceit out_type', dict(type='CeiT', out_type='feature'), ValueError, "unknown out_type 'feature'"),
]


@pytest.mark.parametrize('cfg, error, message', [r[1:] for r in BAD_ARGUMENTS], ids=[r[0] for r in BAD_ARGUMENTS])
def test_bad_backbone_arguments(cfg, error, message):
    with pytest.raises(error) as info:
        MODELS.build(cfg)
    assert message in re.sub(r"'(\w+) is not in the \w+::", r"\1 is not in the <scope>::", str(info.value))


# Stage arguments every staged backbone checks the same way (one helper, base.check_stage_args).
STAGE_ARGUMENTS = [
    ('out_indices too big', dict(out_indices=(0, 4)), 'out_indices must be in 0..3 (or negative from the end), got (0, 4)'),
    ('out_indices empty', dict(out_indices=()), 'out_indices must name at least one stage'),
    ('frozen_stages too big', dict(frozen_stages=5), 'frozen_stages must be in -1..4, got 5'),
    ('drop_path_rate 1', dict(drop_path_rate=1.0), 'drop_path_rate must be in [0, 1), got 1.0'),
    ('in_channels 0', dict(in_channels=0), 'in_channels must be a positive int, got 0'),
]


@pytest.mark.parametrize('backbone', ['SecViT', 'SECSwin', 'SECFasterViT'])
@pytest.mark.parametrize('args, message', [r[1:] for r in STAGE_ARGUMENTS], ids=[r[0] for r in STAGE_ARGUMENTS])
def test_bad_stage_arguments(backbone, args, message):
    with pytest.raises(ValueError) as info:
        MODELS.build(dict(type=backbone, **args))
    assert message in str(info.value)


@pytest.mark.parametrize('backbone', ['SecViT', 'SECSwin', 'SECFasterViT'])
def test_out_indices_are_normalised(backbone):
    """Negative indices count from the end; order and repeats do not matter."""
    model = MODELS.build(dict(type=backbone, out_indices=(-1, 0, 3, 1)))
    assert model.out_indices == (0, 1, 3)
    assert len(model(torch.zeros(1, 3, 64, 64))) == 3


def test_kwarg_typo_from_a_detector_config_names_the_valid_arguments():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mask_rcnn_secvit_t_1x.py'))
    cfg.model.backbone.num_cluster = 4
    cfg.model.backbone.init_cfg = None
    from mmdet.registry import MODELS as DET_MODELS
    with pytest.raises(TypeError) as info:
        DET_MODELS.build(cfg.model)
    assert "did you mean 'num_clusters'?" in str(info.value)


# (id, config, --cfg-options, check, expected substring)
MISSING_FILES = [
    ('missing demo data', 'configs/demo/mask_rcnn_secvit_t_demo.py',
     {'train_dataloader.dataset.data_root': 'nowhere/data/demo/coco/'}, 'data',
     "dataset path not found: 'nowhere/data/demo/coco/'"),
    ('missing demo data hint', 'configs/demo/mask_rcnn_secvit_t_demo.py',
     {'train_dataloader.dataset.data_root': 'nowhere/data/demo/coco/'}, 'data', 'python tools/make_demo_data.py'),
    ('missing COCO', 'configs/mask_rcnn_secvit_t_1x.py', {'train_dataloader.dataset.data_root': 'nowhere/coco/'},
     'data', 'put COCO 2017 at data/coco'),
    ('missing ann_file', 'configs/demo/mask_rcnn_secvit_t_demo.py',
     {'train_dataloader.dataset.data_root': ROOT, 'train_dataloader.dataset.ann_file': 'missing.json'},
     'data', 'missing.json'),
    ('missing pretrained', 'configs/mask_rcnn_secvit_t_1x.py',
     {'model.backbone.init_cfg.checkpoint': 'nowhere/secvit_t.pth'}, 'ckpt',
     "pretrained checkpoint not found: 'nowhere/secvit_t.pth'; convert the released weights"),
    ('missing load_from', 'configs/secvit_t_in1k.py', {'load_from': 'nowhere/epoch_3.pth'}, 'ckpt',
     "load_from: checkpoint not found: 'nowhere/epoch_3.pth'"),
]


@pytest.mark.parametrize('config, options, check, message', [r[1:] for r in MISSING_FILES],
                         ids=[r[0] for r in MISSING_FILES])
def test_missing_files(config, options, check, message):
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(options)
    with pytest.raises(FileNotFoundError) as info:
        (check_data_paths if check == 'data' else check_checkpoint_paths)(cfg)
    assert message in str(info.value)


def test_train_tool_reports_missing_data_before_building_anything(tmp_path):
    from tools.train import main
    with pytest.raises(FileNotFoundError, match='make_demo_data.py'):
        main([osp.join(ROOT, 'configs/demo/mask_rcnn_secvit_t_demo.py'), '--work-dir', str(tmp_path),
              '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/data/demo/coco/'])


def test_test_tool_reports_missing_checkpoint(tmp_path):
    from tools.test import main
    with pytest.raises(FileNotFoundError, match="Checkpoint not found: 'nowhere.pth'"):
        main([osp.join(ROOT, 'configs/demo/mask_rcnn_secvit_t_demo.py'), 'nowhere.pth', '--work-dir', str(tmp_path)])


# --------------------------------------------------------------------------------------------
# Any size from 32 to 1024 per side: right shapes, finite outputs (the real T archs, paper mode).
# --------------------------------------------------------------------------------------------
_sizes = st.tuples(st.integers(32, 1024), st.integers(32, 1024))


@pytest.fixture(scope='module')
def secvit_t():
    torch.manual_seed(0)
    return SecViT(arch='tiny').eval()


@pytest.fixture(scope='module')
def ceit_t():
    torch.manual_seed(0)
    return CeiT(arch='tiny', out_type='featmap').eval()


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(size=_sizes)
def test_secvit_t_any_size(secvit_t, size):
    h, w = size
    with torch.inference_mode():
        outs = secvit_t(torch.randn(1, 3, h, w))
    assert len(outs) == 4
    for i, (out, dims) in enumerate(zip(outs, secvit_t.embed_dims)):
        stride = 4 * 2**i
        # stride-2 3x3 convs with padding 1: ceil division at every step
        eh, ew = h, w
        for _ in range(i + 2):
            eh, ew = (eh + 1) // 2, (ew + 1) // 2
        assert out.shape == (1, dims, eh, ew), (stride, out.shape)
        assert torch.isfinite(out).all()


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(size=_sizes)
def test_ceit_t_any_size(ceit_t, size):
    h, w = size
    with torch.inference_mode():
        outs = ceit_t(torch.randn(1, 3, h, w))
    gh, gw = -(-h // 16), -(-w // 16)
    expected = [(4 * gh, 4 * gw), (2 * gh, 2 * gw), (gh, gw), (-(-gh // 2), -(-gw // 2))]
    assert [tuple(o.shape[-2:]) for o in outs] == expected
    assert all(o.shape[:2] == (1, 192) for o in outs)
    assert all(torch.isfinite(o).all() for o in outs)


def test_an_init_cfg_list_holding_pretrained_is_refused_instead_of_loaded_loosely(tmp_path):
    """mmengine would run a listed Pretrained through its own strict=False loader: a checkpoint of
    another arch would half-load with only a log line."""
    from secvit_mm.errors import ConfigError
    small = SecViT('small')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in small.state_dict().items()}}, tmp_path / 'small.pth')
    listed = [dict(type='Pretrained', checkpoint=str(tmp_path / 'small.pth'), prefix='backbone.'),
              dict(type='Constant', layer='LayerNorm', val=1.)]
    tiny = SecViT('tiny', init_cfg=listed)
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    with pytest.raises(ConfigError, match=r"SecViT init_cfg is a list holding type='Pretrained'.*init_cfg=dict"):
        tiny.init_weights()
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())  # nothing was loaded

    cfg = Config.fromfile(osp.join(ROOT, 'configs/mask_rcnn_secvit_t_1x.py'))
    cfg.model.backbone.init_cfg = listed
    with pytest.raises(ConfigError, match=r"model\.backbone init_cfg is a list holding type='Pretrained'"):
        check_checkpoint_paths(cfg)

    SecViT('tiny', init_cfg=[dict(type='Constant', layer='Linear', val=0.)]).init_weights()  # no Pretrained: fine
