"""timm's secvit_tiny inside mmdet through mmpretrain's TIMMBackbone, trained by the real mmdet runner."""
import math

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import DET_CONFIG


def test_mmpretrain_timm_backbone_secvit_tiny_trains_two_steps_in_a_mask_rcnn(demo_data, tmp_path):
    cfg = Config.fromfile(DET_CONFIG)
    # The whole backbone entry is replaced: timm's model through mmpretrain's wrapper, its four
    # stride-4..32 maps (64, 128, 256, 512 channels) into the config's FPN unchanged.
    cfg.model.backbone = dict(type='mmpretrain.TIMMBackbone', model_name='secvit_tiny', features_only=True,
                              pretrained=False, out_indices=(0, 1, 2, 3), drop_path_rate=0.)
    coco = str(demo_data / 'coco')
    cfg.train_dataloader.dataset.data_root = coco + '/'
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    assert type(backbone).__name__ == 'TIMMBackbone'
    assert type(backbone.timm_model.model).__name__ == 'SecViTNet'
    first_conv = backbone.timm_model.model.stem[0].weight
    before = first_conv.detach().clone()
    runner.train()
    assert runner.iter == 2
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())
    assert not torch.equal(first_conv.detach(), before), 'the timm backbone was not trained'
