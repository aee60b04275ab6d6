"""Install secvit-mm: SecViT and CeiT backbones for the OpenMMLab detection/segmentation stack."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'secvit_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


setup(
    name='secvit-mm',
    version=read_version(),
    description='SecViT and CeiT backbones for MMDetection, MMSegmentation and MMPretrain',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['secvit_mm', 'secvit_mm.*']),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
