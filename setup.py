"""Install secvit-mm: SecViT and CeiT backbones in plain PyTorch, for timm and the OpenMMLab stack.

``pip install secvit-mm`` brings torch and einops only; ``pip install 'secvit-mm[mm]'`` adds the OpenMMLab
stack (mmengine, mmcv, mmdet, mmsegmentation, mmpretrain) in the supported ranges.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version_file() -> dict:
    scope: dict = {}
    with open(osp.join(HERE, 'secvit_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope


def read_requirements(name: str) -> list:
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


# Supported version ranges, not the exact pins: `pip install -e .` into an existing OpenMMLab
# environment keeps its torch and mmcv when they are in range. The exact stack verified together is in
# requirements/runtime.txt, installed by tools/install.sh.
VERSION_FILE = read_version_file()
MM_REQUIRES = [name + VERSION_FILE['REQUIREMENTS'][name] for name in VERSION_FILE['MM']]

setup(
    name='secvit-mm',
    version=VERSION_FILE['__version__'],
    description='SecViT and CeiT backbones in plain PyTorch, for timm, MMDetection, MMSegmentation and MMPretrain',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['secvit_mm', 'secvit_mm.*']),
    python_requires='>=3.10',
    install_requires=[name + VERSION_FILE['REQUIREMENTS'][name] for name in VERSION_FILE['CORE']],
    extras_require={'mm': MM_REQUIRES,
                    'tests': MM_REQUIRES + read_requirements('tests.txt') + read_requirements('onnx.txt'),
                    'onnx': read_requirements('onnx.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
