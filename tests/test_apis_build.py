"""secvit_mm.apis.build_model: the one scope-aware way from a config to its model or backbone."""
import glob
import os.path as osp
import re

import pytest
import torch

from secvit_mm.apis import build_model
from secvit_mm.models.backbones import SecViT

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DET = osp.join(ROOT, 'configs', 'mask_rcnn_secvit_t_1x.py')
CLS = osp.join(ROOT, 'configs', 'secvit_t_in1k.py')
# A small SecViT keeps the tests fast; the config's arch is what --cfg-options replaces.
SMALL = {'model.backbone.arch': dict(_delete_=True, embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1],
                                    num_heads=[2, 2, 4, 4])}


def test_the_backbone_of_a_detection_config_is_built_in_eval_mode_without_its_imagenet_checkpoint():
    backbone = build_model(DET, backbone_only=True, cfg_options=SMALL)
    assert isinstance(backbone, SecViT) and not backbone.training
    assert backbone.embed_dims == [16, 32, 32, 32] and backbone.is_init


def test_a_classification_model_gets_the_config_level_data_preprocessor_as_the_runner_does():
    from mmpretrain.models import ImageClassifier
    model = build_model(CLS)
    assert isinstance(model, ImageClassifier)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx([123.675, 116.28, 103.53])


def test_a_checkpoint_loads_every_backbone_tensor(tmp_path):
    source = build_model(DET, backbone_only=True, cfg_options=SMALL)
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()},
                'meta': {}}, path)
    torch.manual_seed(123)
    loaded = build_model(DET, str(path), backbone_only=True, cfg_options=SMALL)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_keys(tmp_path):
    state = build_model(DET, backbone_only=True, cfg_options=SMALL).state_dict()
    del state['stages.1.blocks.0.attn.qkv.weight']
    path = tmp_path / 'damaged.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}}, path)
    with pytest.raises(ValueError, match=r'does not fit this SecViT .*missing keys: stages\.1\.blocks\.0\.attn\.qkv'):
        build_model(DET, str(path), backbone_only=True, cfg_options=SMALL)
    torch.save({'state_dict': {'neck.weight': torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match=r'no backbone\.\* keys'):
        build_model(DET, str(path), backbone_only=True, cfg_options=SMALL)


def test_building_leaves_the_callers_default_scope_as_it_was():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        build_model(DET, backbone_only=True, cfg_options=SMALL)  # an mmdet config
        assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'


def test_no_tool_imports_another_tool():
    """Shared code lives in the package; a tool may run another one as a command, never import it.

    The one module of tools/ that is not a tool, ``tools/quiet.py`` (the warning filter every entry
    point installs before anything imports mmengine), is what a tool may import from there."""
    paths = glob.glob(osp.join(ROOT, 'tools', '**', '*.py'), recursive=True)
    names = '|'.join(sorted({osp.splitext(osp.basename(p))[0] for p in paths} - {'__init__', 'quiet'}))
    importing = re.compile(rf'(\bfrom tools(?! import quiet\b)|\bimport tools\b|\bimport ({names})\b|'
                           rf'\bfrom ({names}) import)')
    for path in paths:
        with open(path) as f:
            assert not importing.search(f.read()), path
    with open(osp.join(ROOT, 'tools', 'quiet.py')) as f:
        assert "__name__ == '__main__'" not in f.read(), 'tools/quiet.py became a tool'
