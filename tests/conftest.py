import os.path as osp
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


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long-running test (e.g. torch.compile); deselect with -m "not slow"')


DEMO_DET_CONFIG = osp.join(ROOT, 'configs/demo/mask_rcnn_secvit_t_demo.py')
DEMO_SEG_CONFIG = osp.join(ROOT, 'configs/demo/upernet_secvit_t_demo.py')


def save_initial_checkpoint(config: str, path: str) -> str:
    """The config's model at its own (seeded) initialisation, saved as a Runner saves a trained one:
    ``meta.dataset_meta`` names the classes, so the upstream inferencers load it like a trained model."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config)
    scope = cfg.default_scope
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    torch.manual_seed(0)
    model = registry.build(cfg.model)
    model.init_weights()
    if scope == 'mmdet':
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
    return dict(det=save_initial_checkpoint(DEMO_DET_CONFIG, str(root / 'det.pth')),
                seg=save_initial_checkpoint(DEMO_SEG_CONFIG, str(root / 'seg.pth')))
