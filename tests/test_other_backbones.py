"""SEC-Swin, SEC-FasterViT, the SecViT ablation switches and the configs that use them.

Expected parameter counts (with a 1000-class Linear head):

* SEC-Swin-T 28,265,032 = Swin-T 28,288,354 (mmpretrain ``SwinTransformer('tiny')`` + head) minus its
  23,322 relative-position-bias entries (169 per head per block, 138 head-blocks); Swin's Linear
  layers are 1x1 convs here, same counts, and nothing else is added (RoPE has no parameters).
  SEC-Swin-S 49,558,600 = 49,606,258 - 47,658 (282 head-blocks). Backbones alone: 27,496,032 and
  48,789,600 (head 768 x 1000 + 1000 = 769,000).
* SEC-FasterViT-0 23,637,800 (backbone 23,124,800 + head 513,000) and SEC-FasterViT-1 39,068,968
  (38,427,968 + 641,000), against 31,404,840 / 53,366,696 for FasterViT-0 / -1 counted from the
  public NVlabs code's modules (``fastervit_reference_count`` below; README: 31.4M / 53.4M). The
  difference is the HAT carrier-token branch, TokenInitializer and MLP position embeddings/biases.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from secvit_mm.apis import build_model, scope_registry
from secvit_mm.models.backbones import SecViT, SECFasterViT, SECSwin
from secvit_mm.models.layers import RotaryEmbedding2d, SECAttention, sec_attention, spatial_order

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def count(module):
    return sum(p.numel() for p in module.parameters())


def fastervit_reference_count(dim, in_dim, depths, heads, hat=(False, False, True, False), res=224, window=7):
    """Parameters of the published FasterViT (NVlabs/FasterViT faster_vit.py), module by module."""
    n = 3 * in_dim * 9 + 2 * in_dim + in_dim * dim * 9 + 2 * dim  # stem: 2 convs (no bias) + BNs
    for i in range(4):
        d, h = dim * 2**i, heads[i]
        if i < 2:
            n += depths[i] * (2 * (9 * d * d + d) + 4 * d)  # ConvBlock: 2 conv3x3 + 2 BN
        else:
            cpb = 2 * 512 + 512 + 512 * h  # MLP relative position bias of a WindowAttention
            attn = 4 * d * d + 4 * d + cpb
            mlp = 8 * d * d + 5 * d
            block = (2 * 512 + 512 + 512 * d) + 4 * d + attn + mlp  # pos-embed MLP, 2 LN, attn, mlp
            if hat[i] and (res // 2**(2 + i)) // window > 1:  # carrier tokens
                block += 4 * d + attn + mlp + (2 * 512 + 512 + 512 * d)
                n += 10 * d  # TokenInitializer dwconv
            n += depths[i] * block
        if i < 3:
            n += 2 * d + 9 * d * 2 * d  # downsample: LayerNorm2d + conv3x3 (no bias)
    return n + 2 * 8 * dim + 8 * dim * 1000 + 1000  # final BN + head


# ------------------------------------------------------------------------------ parameter counts
@pytest.mark.parametrize('arch,backbone_params,classifier_params', [
    ('tiny', 27_496_032, 28_265_032),
    ('small', 48_789_600, 49_558_600),
])
def test_sec_swin_is_swin_minus_its_relative_position_tables(arch, backbone_params, classifier_params):
    from mmpretrain.models.backbones import SwinTransformer
    model = SECSwin(arch)
    assert count(model) == backbone_params
    assert count(model) + 768 * 1000 + 1000 == classifier_params
    swin = SwinTransformer(arch=arch, out_indices=(3, ))
    tables = sum(p.numel() for n, p in swin.named_parameters() if 'relative_position_bias_table' in n)
    assert count(swin) - tables == backbone_params


@pytest.mark.parametrize('arch,backbone_params,classifier_params,published', [
    ('0', 23_124_800, 23_637_800, 31_404_840),
    ('1', 38_427_968, 39_068_968, 53_366_696),
])
def test_sec_fastervit_counts_and_fewer_parameters_than_fastervit(arch, backbone_params, classifier_params,
                                                                  published):
    model = SECFasterViT(arch)
    settings = SECFasterViT.arch_zoo[arch]
    assert count(model) == backbone_params
    head = model.embed_dims[-1] * 1000 + 1000
    assert count(model) + head == classifier_params
    assert fastervit_reference_count(settings['dim'], settings['in_dim'], settings['depths'],
                                     settings['num_heads']) == published
    assert round(published / 1e6, 1) == {'0': 31.4, '1': 53.4}[arch]  # the README table
    assert classifier_params < published


def test_published_fastervit_dimensions():
    assert SECFasterViT.arch_zoo['0'] == dict(dim=64, in_dim=64, depths=[2, 3, 6, 5], num_heads=[2, 4, 8, 16],
                                              mlp_ratio=4., drop_path_rate=0.2)
    assert SECFasterViT.arch_zoo['1'] == dict(dim=80, in_dim=32, depths=[1, 3, 8, 5], num_heads=[2, 4, 8, 16],
                                              mlp_ratio=4., drop_path_rate=0.2)
    model = SECFasterViT('1')
    assert model.embed_dims == [80, 160, 320, 640]
    # Stages 1-2 convolutional, 3-4 SEC attention (4 clusters of 49 tokens at 224, then global).
    assert not any(isinstance(m, SECAttention) for m in model.stages[:2].modules())
    attns = [[m for m in s.modules() if isinstance(m, SECAttention)] for s in model.stages[2:]]
    assert [len(a) for a in attns] == [8, 5]
    assert {a.num_clusters for a in attns[0]} == {4} and {a.is_global for a in attns[1]} == {True}


def test_sec_swin_clusters_hold_a_swin_window_at_224():
    model = SECSwin('tiny')
    attns = [[m for m in s.modules() if isinstance(m, SECAttention)] for s in model.stages]
    assert [{a.num_clusters for a in stage} for stage in attns] == [{64}, {16}, {4}, {None}]
    for stage, tokens in zip(attns[:3], (56 * 56, 28 * 28, 14 * 14)):
        assert tokens // stage[0].num_clusters == 49
    # Nothing but Swin + SEC: no CPE, no LePE, a patch-embedding stem, no relative position tables.
    names = [n for n, _ in model.named_parameters()]
    assert not any('lepe' in n or 'cpe' in n or 'relative_position' in n for n in names)
    assert [n for n, _ in model.patch_embed.named_parameters()] == ['proj.weight', 'proj.bias', 'norm.weight',
                                                                    'norm.bias']


# ------------------------------------------------------------------------------ shapes
BACKBONES = [
    (SECSwin, 'tiny', [96, 192, 384, 768]),
    (SECSwin, 'small', [96, 192, 384, 768]),
    (SECFasterViT, '0', [64, 128, 256, 512]),
    (SECFasterViT, '1', [80, 160, 320, 640]),
]


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
@pytest.mark.parametrize('h,w', [(33, 47), (97, 131)])
def test_odd_sizes_give_four_maps_at_strides_4_to_32(cls, arch, channels, h, w):
    model = cls(arch, out_indices=(0, 1, 2, 3), drop_path_rate=0.).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    assert len(outs) == 4
    for out, stride, c in zip(outs, (4, 8, 16, 32), channels):
        assert out.shape == (1, c, math.ceil(h / stride), math.ceil(w / stride))
        assert torch.isfinite(out).all()


@pytest.mark.parametrize('cls,arch', [(SECSwin, 'tiny'), (SECFasterViT, '0')])
def test_every_parameter_gets_a_gradient_and_frozen_stages_freeze(cls, arch):
    model = cls(arch, out_indices=(0, 1, 2, 3)).train()
    sum(o.mean() for o in model(torch.randn(2, 3, 64, 64))).backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    frozen = cls(arch, frozen_stages=2)
    frozen.train()
    stem = frozen.patch_embed if cls is SECSwin else frozen.stem
    assert not any(p.requires_grad for p in stem.parameters())
    assert not any(p.requires_grad for p in frozen.stages[1].parameters())
    assert all(p.requires_grad for p in frozen.stages[2].parameters())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='Unknown SECSwin arch'):
        SECSwin('base')
    with pytest.raises(ValueError, match='Unknown SECFasterViT arch'):
        SECFasterViT('7')
    with pytest.raises(ValueError, match='num_clusters'):
        SECFasterViT('0', num_clusters=(4, 2, 1))
    with pytest.raises(ValueError, match='out_indices'):
        SECSwin('tiny', out_indices=(4, ))
    with pytest.raises(ValueError, match='at least 32x32'):
        SECSwin('tiny')(torch.randn(1, 3, 16, 64))


def test_sec_swin_missing_pretrained_file_is_an_error_that_names_it(tmp_path):
    path = str(tmp_path / 'sec_swin_t_in1k.pth')
    model = SECSwin('tiny', init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(FileNotFoundError, match='sec_swin_t_in1k.pth'):
        model.init_weights()
    # A checkpoint of the classifier loads strictly.
    source = SECSwin('tiny')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    model.init_weights()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), source.state_dict().values()))


# ------------------------------------------------------------------------------ ablation switches
def params_by_name(model):
    return {n: tuple(p.shape) for n, p in model.named_parameters()}


def test_no_lce_removes_exactly_the_lepe_parameters():
    full, ablated = SecViT('tiny'), SecViT('tiny', use_lepe=False)
    lepe = {n: s for n, s in params_by_name(full).items() if '.attn.lepe.' in n}
    assert len(lepe) == 2 * 15  # weight + bias in each of the 15 blocks
    assert count(full) - count(ablated) == sum(p.numel() for n, p in full.named_parameters() if n in lepe)
    assert params_by_name(ablated) == {n: s for n, s in params_by_name(full).items() if n not in lepe}


def test_no_cpe_removes_exactly_the_cpe_parameters():
    full, ablated = SecViT('tiny'), SecViT('tiny', use_cpe=False)
    cpe = {n for n in params_by_name(full) if '.cpe.' in n}
    assert len(cpe) == 2 * 15
    assert count(full) - count(ablated) == sum(p.numel() for n, p in full.named_parameters() if n in cpe)
    assert params_by_name(ablated) == {n: s for n, s in params_by_name(full).items() if n not in cpe}


def test_patch_stem_changes_only_the_stem():
    conv, patch = SecViT('tiny'), SecViT('tiny', stem_type='patch')
    outside = lambda m: {n: s for n, s in params_by_name(m).items() if not n.startswith('stem.')}  # noqa: E731
    assert outside(conv) == outside(patch)
    assert params_by_name(patch.stem) == {'proj.weight': (64, 3, 4, 4), 'proj.bias': (64, ),
                                          'norm.weight': (64, ), 'norm.bias': (64, )}
    with torch.no_grad():
        outs = patch.eval()(torch.randn(1, 3, 33, 47))
    assert [tuple(o.shape[2:]) for o in outs] == [(9, 12), (5, 6), (3, 3), (2, 2)]
    with pytest.raises(ValueError, match='stem_type'):
        SecViT('tiny', stem_type='conv3')


def test_window_attention_same_parameters_different_output_spatial_grouping():
    torch.manual_seed(0)
    sec = SecViT('tiny', out_indices=(3, ), drop_path_rate=0.).eval()
    window = SecViT('tiny', out_indices=(3, ), drop_path_rate=0., attn_type='window').eval()
    assert params_by_name(sec) == params_by_name(window)
    window.load_state_dict(sec.state_dict())
    x = torch.randn(1, 3, 112, 112)
    with torch.no_grad():
        assert not torch.allclose(sec(x)[0], window(x)[0], atol=1e-4)
    attns = [m for m in window.modules() if isinstance(m, SECAttention)]
    assert {a.grouping for a in attns} == {'spatial'}
    assert {a.grouping for a in sec.modules() if isinstance(a, SECAttention)} == {'semantic'}
    with pytest.raises(ValueError, match='attn_type'):
        SecViT('tiny', attn_type='cswin')


def test_spatial_grouping_is_attention_inside_windows():
    """Cluster length 49 on a 14x14 grid = attention inside Swin's four 7x7 windows."""
    torch.manual_seed(0)
    b, heads, h, w, d = 2, 2, 14, 14, 8
    q, k, v = (torch.randn(b, heads, h * w, d) for _ in range(3))
    order = spatial_order(h, w, 49)
    out = sec_attention(q, k, v, num_clusters=4, order=order)

    def windows(t):  # (b, heads, h*w, d) -> (b, heads, 4 windows, 49, d)
        t = t.view(b, heads, 2, 7, 2, 7, d).permute(0, 1, 2, 4, 3, 5, 6)
        return t.reshape(b, heads, 4, 49, d)

    ref = torch.softmax(windows(q) @ windows(k).transpose(-1, -2) * d**-0.5, -1) @ windows(v)
    ref = ref.view(b, heads, 2, 2, 7, 7, d).permute(0, 1, 2, 4, 3, 5, 6).reshape(b, heads, h * w, d)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    # The order is a fixed permutation, independent of the content.
    assert sorted(order.tolist()) == list(range(h * w))
    assert order[:7].tolist() == list(range(7)) and order[7:14].tolist() == list(range(14, 21))


def test_spatial_grouping_on_odd_grids_and_default_unchanged():
    attn = SECAttention(32, 2, num_clusters=4, grouping='spatial')
    x = torch.randn(1, 32, 9, 13)
    rope = RotaryEmbedding2d(16).tables(9, 13)
    assert attn(x, rope).shape == (1, 32, 9, 13)
    semantic = SECAttention(32, 2, num_clusters=4)
    semantic.load_state_dict(attn.state_dict())
    q, k, v = semantic.project(x, rope)
    expected = sec_attention(q, k, v, 4, None, semantic.scale)  # default: semantic order
    assert torch.equal(sec_attention(q, k, v, 4, None, semantic.scale, None), expected)
    with pytest.raises(ValueError, match='grouping'):
        SECAttention(32, 2, grouping='random')
    with pytest.raises(ValueError, match='permutation'):
        sec_attention(q, k, v, 4, order=torch.arange(5))


def test_cluster_ablations_set_the_counts():
    model = SecViT('tiny', num_clusters=(128, 32, 8, 2))
    counts = [{m.num_clusters for m in s.modules() if isinstance(m, SECAttention)} for s in model.stages]
    assert counts == [{128}, {32}, {8}, {2}]
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 64, 64))[3].shape == (1, 512, 2, 2)


# ------------------------------------------------------------------------------ configs
def load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


ABLATIONS = {
    'ablations/secvit_t_no_lce.py': dict(use_lepe=False),
    'ablations/secvit_t_no_cpe.py': dict(use_cpe=False),
    'ablations/secvit_t_patch_stem.py': dict(stem_type='patch'),
    'ablations/secvit_t_window_attn.py': dict(attn_type='window'),
    'ablations/secvit_t_clusters_64_16_4_1.py': dict(num_clusters=(64, 16, 4, 1)),
    'ablations/secvit_t_clusters_128_32_8_2.py': dict(num_clusters=(128, 32, 8, 2)),
    'ablations/secvit_t_clusters_16_4_1_1.py': dict(num_clusters=(16, 4, 1, 1)),
}


@pytest.mark.parametrize('name,change', ABLATIONS.items())
def test_ablation_configs_change_one_thing(name, change):
    base, cfg = load('secvit_t_in1k.py'), load(name)
    expected = dict(base.model.backbone, **change)
    assert dict(cfg.model.backbone) == expected
    assert cfg.optim_wrapper == base.optim_wrapper and cfg.param_scheduler == base.param_scheduler
    from mmpretrain.registry import MODELS
    MODELS.build(cfg.model.backbone)


def classification_step(cfg, size=64):
    from mmpretrain.structures import DataSample
    scope_registry('mmpretrain')
    model = build_model(cfg).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = dict(inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(2)],
                data_samples=[DataSample().set_gt_label(i) for i in (1, 7)])
    before = [p.detach().clone() for p in model.backbone.parameters()]
    losses = model.train_step(data, optim)
    assert all(torch.isfinite(v).all() for v in losses.values())
    changed = [not torch.equal(a, p) for a, p in zip(before, model.backbone.parameters())]
    assert any(changed)
    return model


@pytest.mark.parametrize('name,backbone,params', [
    ('sec_swin_t_in1k.py', 'SECSwin', 28_265_032),
    ('sec_swin_s_in1k.py', 'SECSwin', 49_558_600),
    ('sec_fastervit_0_in1k.py', 'SECFasterViT', 23_637_800),
    ('sec_fastervit_1_in1k.py', 'SECFasterViT', 39_068_968),
])
def test_classification_configs_train_one_step(name, backbone, params):
    cfg = load(name)
    assert cfg.model.backbone.type == backbone and cfg.model.neck.type == 'GlobalAveragePooling'
    if name.startswith('sec_swin_s'):  # the small ones are built only (2 CPU cores)
        from mmpretrain.registry import MODELS
        assert count(MODELS.build(cfg.model)) == params
        return
    model = classification_step(cfg)
    assert count(model) == params


def detection_step(cfg):
    from mmdet.testing import demo_mm_inputs
    scope_registry('mmdet')
    model = build_model(cfg).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = demo_mm_inputs(2, [[3, 96, 128]] * 2, num_items=[2, 2], with_mask=True)
    losses = model.train_step(data, optim)
    assert {'loss_rpn_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())


@pytest.mark.parametrize('name,backbone,channels', [
    ('mask_rcnn_sec_swin_t_1x.py', 'SECSwin', [96, 192, 384, 768]),
    ('mask_rcnn_ceit_t_1x.py', 'CeiT', [192] * 4),
    ('mask_rcnn_ceit_s_1x.py', 'CeiT', [384] * 4),
])
def test_detection_configs_train_one_step(name, backbone, channels):
    cfg = load(name)
    base = load('mask_rcnn_secvit_t_1x.py')
    assert cfg.model.backbone.type == backbone and cfg.model.neck.in_channels == channels
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.backbone.init_cfg.checkpoint == f"checkpoints/{name[len('mask_rcnn_'):-len('_1x.py')]}_in1k.pth"
    assert cfg.optim_wrapper.optimizer == base.optim_wrapper.optimizer
    assert cfg.param_scheduler == base.param_scheduler and cfg.train_cfg == base.train_cfg
    cfg.model.backbone.init_cfg = None
    if name.endswith('ceit_s_1x.py'):
        from mmdet.registry import MODELS
        MODELS.build(cfg.model)
        return
    detection_step(cfg)


def test_sec_swin_detection_config_fails_clearly_without_its_checkpoint(tmp_path):
    from mmdet.registry import MODELS
    cfg = load('mask_rcnn_sec_swin_t_1x.py')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'sec_swin_t_in1k.pth')
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match='sec_swin_t_in1k.pth'):
        model.init_weights()


@pytest.mark.parametrize('name,channels', [('upernet_ceit_t_160k_ade20k.py', 192),
                                           ('upernet_ceit_s_160k_ade20k.py', 384)])
def test_upernet_ceit_configs(name, channels):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = load(name)
    assert cfg.model.backbone.type == 'CeiT' and cfg.model.backbone.out_type == 'featmap'
    assert cfg.model.decode_head.in_channels == [channels] * 4 and cfg.model.auxiliary_head.in_channels == channels
    assert cfg.model.decode_head.num_classes == 150 and cfg.crop_size == (512, 512)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    assert [s['type'] for s in cfg.param_scheduler] == ['LinearLR', 'PolyLR']
    assert cfg.param_scheduler[0]['end'] == 1500 and cfg.param_scheduler[1]['power'] == 1.0
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.dataset.data_root == 'data/ade/ADEChallengeData2016'
    if channels == 384:
        return  # the small one: config only (2 CPU cores)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)
    losses = model.train_step(data, optim)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())


SWIN_SMALL = dict(arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8]), out_indices=(0, 3))


def test_sec_swin_takes_norm_cfg_for_its_layer_norms_as_mmdets_swin():
    from mmengine.model import revert_sync_batchnorm
    from torch import nn
    default = SECSwin(**SWIN_SMALL)
    ln = SECSwin(**SWIN_SMALL, norm_cfg=dict(type='LN', eps=1e-6))
    norms = [m for m in ln.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == len([m for m in default.modules() if isinstance(m, nn.LayerNorm)]) > 0
    assert all(m.eps == 1e-6 for m in norms) and all(m.eps == 1e-5 for m in default.modules()
                                                      if isinstance(m, nn.LayerNorm))
    assert list(ln.state_dict()) == list(default.state_dict())  # the same keys: checkpoints load either way
    sync = revert_sync_batchnorm(SECSwin(**SWIN_SMALL, norm_cfg=dict(type='SyncBN')))
    assert not any(isinstance(m, nn.LayerNorm) for m in sync.modules())
    outs = sync.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [16, 128]
