import json
import os
import os.path as osp
import shutil
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import secvit_mm  # noqa: E402,F401  (registers the models, as custom_imports would)

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def repo_root() -> str:
    return ROOT


# ----------------------------------------------------------------- small copies of the built-in data
DET_CONFIG = osp.join(ROOT, 'configs/demo/mask_rcnn_secvit_t_demo.py')
SEG_CONFIG = osp.join(ROOT, 'configs/demo/semfpn_secvit_t_demo.py')


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """Small built-in COCO (4 + 2 images) and ADE (4 + 2) sets under one session directory."""
    from secvit_mm.datasets import demo_data as demo_data_module
    base = tmp_path_factory.mktemp('demo')
    demo_data_module.make_coco_instance_demo(str(base / 'coco'), num_train=4, num_val=2, image_size=(64, 80))
    demo_data_module.make_ade20k_demo(str(base / 'ade'), num_train=4, num_val=2, image_size=(64, 80))
    return base


def broken_copy(demo_data, tmp_path, kind: str, edit=None) -> str:
    """A copy of the demo ``kind`` ('coco' / 'ade') in tmp_path, changed by ``edit(root)``."""
    root = str(tmp_path / kind)
    shutil.copytree(demo_data / kind, root)
    if edit is not None:
        edit(root)
    return root


def edit_coco(split: str, change):
    """An ``edit`` that applies ``change(coco_dict, root)`` to the split's annotation file."""
    def edit(root):
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            coco = json.load(f)
        change(coco, root)
        with open(path, 'w') as f:
            json.dump(coco, f)
    return edit


def options_for(root: str, kind: str) -> list:
    opts = [f'{s}_dataloader.dataset.data_root={root}/' for s in ('train', 'val', 'test')]
    if kind == 'coco':
        opts += [f'{s}_evaluator.ann_file={root}/annotations/instances_val2017.json' for s in ('val', 'test')]
    return opts


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long-running test (e.g. torch.compile); deselect with -m "not slow"')
    config.addinivalue_line('markers', 'cuda: needs a CUDA GPU; skipped where torch sees none '
                            '(SECVIT_MM_CUDA_TESTS_ON_CPU=1 runs them on the CPU, to check the tests)')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available() or os.environ.get('SECVIT_MM_CUDA_TESTS_ON_CPU') == '1':
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (torch.cuda.is_available() is False)')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


DEMO_SEG_CONFIG = osp.join(ROOT, 'configs/demo/upernet_secvit_t_demo.py')


def save_initial_checkpoint(config: str, path: str) -> str:
    """The config's model at its own (seeded) initialisation, saved as a Runner saves a trained one:
    ``meta.dataset_meta`` names the classes, so the upstream inferencers load it like a trained model."""
    from mmengine.config import Config

    from secvit_mm.apis import build_model
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = build_model(cfg)
    if cfg.default_scope == 'mmdet':
        meta = dict(classes=tuple(cfg.metainfo.classes), palette=cfg.metainfo.palette)
    else:
        from mmseg.datasets import ADE20KDataset
        meta = dict(ADE20KDataset.METAINFO)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)), path)
    return path


@pytest.fixture(scope='session')
def demo_checkpoints(tmp_path_factory):
    """Checkpoints of the demo Mask R-CNN and UperNet (initial weights), keys 'det' and 'seg'."""
    root = tmp_path_factory.mktemp('demo_checkpoints')
    return dict(det=save_initial_checkpoint(DET_CONFIG, str(root / 'det.pth')),
                seg=save_initial_checkpoint(DEMO_SEG_CONFIG, str(root / 'seg.pth')))
