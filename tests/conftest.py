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
