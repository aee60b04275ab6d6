"""type='SecViT' resolves everywhere, and unmodified upstream configs train with it."""
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper


@pytest.mark.parametrize('package', ['mmdet', 'mmseg', 'mmpretrain'])
def test_secvit_builds_from_every_upstream_registry(package):
    registry = __import__(f'{package}.registry', fromlist=['MODELS']).MODELS
    backbone = registry.build(dict(type='SecViT', arch='t', out_indices=(3, )))
    assert type(backbone).__name__ == 'SecViT'
    neck = registry.build(dict(type='ConvPoolNeck', in_channels=512))
    assert neck(backbone(torch.randn(1, 3, 64, 64)))[0].shape == (1, 1024)


def write_config(tmp_path, text):
    path = tmp_path / 'cfg.py'
    path.write_text(textwrap.dedent(text))
    return Config.fromfile(str(path))


def test_unmodified_mmdet_config_with_custom_imports_takes_a_training_step(tmp_path):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = write_config(tmp_path, """
        _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)
        model = dict(
            backbone=dict(_delete_=True, type='SecViT', arch='tiny'),
            neck=dict(in_channels=[64, 128, 256, 512]))
        """)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = demo_mm_inputs(2, [[3, 128, 160]] * 2, num_items=[3, 3], with_mask=True)
    before = model.backbone.stages[0].blocks[0].attn.qkv.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert {'loss_rpn_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert not torch.equal(before, model.backbone.stages[0].blocks[0].attn.qkv.weight)
