"""The backbone families of secvit-mm, in one table that the tools and checks read.

Adding a family: write its model file (``secvit_mm/models/backbones/<name>.py``, registered in
``MODELS``), add one :class:`Family` row to :data:`FAMILIES`, add its configs
(``configs/<name>_<size>_in1k.py``, ``configs/<task>_<name>_<size>_...py``). Nothing else names
the families: the pretrained loader's messages (:mod:`secvit_mm.models.pretrained`), the
checkpoint preflight check (:mod:`secvit_mm.checks.preflight`) and ``tools/model_zoo.py`` look
them up here.

This module imports nothing, so every module (and every tool) may read it.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

__all__ = ['Family', 'FAMILIES', 'family_of_config', 'family_of_type']


@dataclass(frozen=True)
class Family:
    """One backbone family.

    Args:
        name (str): the token configs are named with (``secvit`` in ``mask_rcnn_secvit_t_1x.py``).
        type (str): the model's registered type (``model.backbone.type``).
        title (str): how the docs and the model zoo write it.
        converter (str, optional): the tool that converts the released ImageNet checkpoint, or None
            when there is none (pretrain with the family's own classifier config). Defaults to None.
        arch_label (str): how the model zoo names a size: ``'initial'`` (``SecViT-T`` for
            ``arch='tiny'``) or ``'full'`` (``SEC-FasterViT-0``). Defaults to ``'initial'``.
    """

    name: str
    type: str
    title: str
    converter: Optional[str] = None
    arch_label: str = 'initial'

    def arch_name(self, arch: str) -> str:
        """``SecViT-T`` for ``arch='tiny'``; the title with the whole arch for ``arch_label='full'``."""
        return f'{self.title}-{arch if self.arch_label == "full" else str(arch)[:1].upper()}'


#: The families, in the order the model zoo lists them.
FAMILIES: Tuple[Family, ...] = (
    Family('secvit', 'SecViT', 'SecViT', converter='tools/convert_secvit.py'),
    Family('ceit', 'CeiT', 'CeiT', converter='tools/convert_ceit.py'),
    Family('sec_swin', 'SECSwin', 'SEC-Swin'),
    Family('sec_fastervit', 'SECFasterViT', 'SEC-FasterViT', arch_label='full'),
)


def family_of_type(type_name: str) -> Optional[Family]:
    """The family whose registered type is ``type_name`` (scope prefixes such as ``mmdet.`` ignored)."""
    type_name = str(type_name).rpartition('.')[2]
    return next((f for f in FAMILIES if f.type == type_name), None)


def family_of_config(config_name: str) -> Optional[Family]:
    """The family a config file is named after (``mask_rcnn_sec_swin_t_1x.py`` -> SEC-Swin), or None.

    Args:
        config_name (str): the file name or path; the longest family token found wins.
    """
    name = '_' + config_name.replace('\\', '/').rpartition('/')[2].rsplit('.py', 1)[0] + '_'
    found = [f for f in FAMILIES if f'_{f.name}_' in name]
    return max(found, key=lambda f: len(f.name), default=None)
