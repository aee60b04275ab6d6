import os
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
    config.addinivalue_line('markers', 'cuda: needs a CUDA GPU; skipped where torch sees none '
                            '(SECVIT_MM_CUDA_TESTS_ON_CPU=1 runs them on the CPU, to check the tests)')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available() or os.environ.get('SECVIT_MM_CUDA_TESTS_ON_CPU') == '1':
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (torch.cuda.is_available() is False)')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)
