"""timm's names for the models of secvit-mm, registered when ``secvit_mm`` is imported with timm there.

``timm.create_model(name)`` for ``secvit_tiny`` / ``_small`` / ``_base`` / ``_large``, ``ceit_tiny`` /
``_small`` / ``_base``, ``sec_swin_tiny`` / ``_small`` and ``sec_fastervit_0`` / ``_1``: the
:mod:`secvit_mm.core` models with a classifier and timm's model contract (``pretrained_cfg``,
``num_classes``, ``num_features``, ``head_hidden_size``, ``feature_info``, ``forward_features``,
``forward_head``, ``reset_classifier``, ``forward_intermediates``, ``prune_intermediate_layers``,
``set_grad_checkpointing``, ``features_only=True``). The model arguments (``cluster_size``,
``num_clusters``, ``drop_path_rate``, ...) pass through ``create_model``'s keyword arguments.

No weights are hosted: ``pretrained=True`` takes a local file,
``pretrained_cfg_overlay=dict(file=PATH)``. Each model's ``checkpoint_filter_fn`` loads the authors'
released layout (SecViT, CeiT: converted as for the mm backbones), an mmpretrain classifier
checkpoint of this package (``backbone.*``, e.g. from ``configs/secvit_t_in1k.py``) or this layout.
"""
from typing import Dict, Optional, Sequence

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import Tensor, nn

from .core.backbone import Backbone
from .core.ceit import CeiT, convert_ceit_checkpoint, is_released_ceit_layout
from .core.sec_fastervit import SECFasterViT
from .core.sec_swin import SECSwin
from .core.secvit import SecViT, SecViTHead, convert_secvit_checkpoint, is_released_secvit_layout

__all__ = ['SecViTNet', 'CeiTNet', 'SECSwinNet', 'SECFasterViTNet', 'checkpoint_filter_fn']


class PoolHead(nn.Module):
    """Global average pool, then Linear (none for 0 classes); ``global_pool=''`` keeps the map."""

    def __init__(self, in_channels: int, num_classes: int = 1000, global_pool: str = 'avg') -> None:
        super().__init__()
        self.in_channels = in_channels
        self.global_pool = global_pool
        self.fc = nn.Linear(in_channels, num_classes) if num_classes else nn.Identity()

    def reset(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        if global_pool is not None:
            self.global_pool = global_pool
        self.fc = nn.Linear(self.in_channels, num_classes) if num_classes else nn.Identity()

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        if not self.global_pool:
            return x
        x = x.mean((2, 3))
        return x if pre_logits else self.fc(x)


class ClassifierMixin:
    """timm's classifier API (first base) over a core model whose ``self.head`` has ``reset`` and
    ``forward(x, pre_logits)`` (the pyramids) or is a Linear (CeiT, which overrides the head calls)."""

    num_classes: int

    @classmethod
    def family_name(cls) -> str:
        # errors name the family (SecViT, not SecViTNet)
        return next(k.__name__ for k in cls.__mro__ if issubclass(k, Backbone) and not issubclass(k, ClassifierMixin))

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        self.head.reset(num_classes, global_pool)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


class SecViTNet(ClassifierMixin, SecViT):
    """SecViT with the released classifier (1x1 conv to 1024, BN, SiLU, pool, Linear).

    Args:
        arch (str | dict): see :class:`secvit_mm.core.secvit.SecViT`. Defaults to 'tiny'.
        num_classes (int): classes (0: the pooled 1024-d features). Defaults to 1000.
        in_chans (int): image channels. Defaults to 3.
        global_pool (str): 'avg', or '' for the unpooled head map. Defaults to 'avg'.
        **kwargs: any other argument of the core SecViT (``num_clusters``, ``cluster_size``,
            ``drop_path_rate``, ``stem_type``, ...).
    """

    def __init__(self, arch='tiny', num_classes: int = 1000, in_chans: int = 3, global_pool: str = 'avg',
                 **kwargs) -> None:
        super().__init__(arch, in_channels=in_chans, **kwargs)
        self.num_classes = num_classes
        self.num_features = self.embed_dims[-1]
        self.head = SecViTHead(self.num_features, num_classes, global_pool=global_pool)
        self.head_hidden_size = self.head.proj.out_channels
        self.reset_weights()


class PooledPyramidMixin(ClassifierMixin):
    """Classifier of SEC-Swin and SEC-FasterViT: the final output norm ``norm3``, pool, Linear.

    Args:
        arch (str | dict): the family's arch.
        num_classes (int): classes (0: the pooled features). Defaults to 1000.
        in_chans (int): image channels. Defaults to 3.
        global_pool (str): 'avg', or '' for the unpooled map. Defaults to 'avg'.
        norm_indices (Sequence[int]): the stages with an output norm (``norm{i}``); the
            features_only models get one per feature level, as the mm backbone's outputs.
            Defaults to (3, ).
        **kwargs: any other argument of the core model (``num_clusters``, ``cluster_size``, ...).
    """

    def __init__(self, arch, num_classes: int = 1000, in_chans: int = 3, global_pool: str = 'avg',
                 norm_indices: Sequence[int] = (3, ), **kwargs) -> None:
        super().__init__(arch, in_channels=in_chans, out_indices=norm_indices, **kwargs)
        self.num_classes = num_classes
        self.num_features = self.head_hidden_size = self.embed_dims[-1]
        self.head = PoolHead(self.num_features, num_classes, global_pool)
        self.reset_weights()


class SECSwinNet(PooledPyramidMixin, SECSwin):
    """SEC-Swin with Swin's classifier (final LayerNorm, pool, Linear); see :class:`PooledPyramidMixin`."""


class SECFasterViTNet(PooledPyramidMixin, SECFasterViT):
    """SEC-FasterViT with FasterViT's classifier (final BatchNorm, pool, Linear); see
    :class:`PooledPyramidMixin`."""


class CeiTNet(ClassifierMixin, CeiT):
    """CeiT with its classifier: LCA over the class tokens of all blocks, LayerNorm, Linear ``head``.

    ``forward_features`` gives the class tokens of every block, (B, blocks, D); ``forward_head``
    runs LCA, the final norm (``pre_logits``: stop here, (B, D)) and the Linear.

    Args:
        arch (str | dict): see :class:`secvit_mm.core.ceit.CeiT`. Defaults to 'tiny'.
        num_classes (int): classes (0: the D-dim features). Defaults to 1000.
        in_chans (int): image channels. Defaults to 3.
        global_pool (str): accepted for timm; the pooling is LCA's. Defaults to 'token'.
        **kwargs: any other argument of the core CeiT (``img_size``, ``drop_path_rate``, ...).
    """

    def __init__(self, arch='tiny', num_classes: int = 1000, in_chans: int = 3, global_pool: str = 'token',
                 **kwargs) -> None:
        super().__init__(arch, in_channels=in_chans, out_type='cls', **kwargs)
        self.num_classes = num_classes
        self.num_features = self.head_hidden_size = self.embed_dims
        self.global_pool = global_pool
        self.head = nn.Linear(self.embed_dims, num_classes) if num_classes else nn.Identity()
        self.reset_weights()

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.head = nn.Linear(self.embed_dims, num_classes) if num_classes else nn.Identity()

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        if self.global_pool:
            x = self.final_norm(self.lca(x))
        return x if pre_logits else self.head(x)


# ----------------------------------------------------------------------------------------- weights
def _strip_mm_classifier(state_dict: Dict[str, Tensor], renames: Dict[str, str]) -> Dict[str, Tensor]:
    """mmpretrain classifier keys (``backbone.``, ``neck.``, ``head.fc.``) -> this module's."""
    out = {}
    for key, value in state_dict.items():
        for old, new in renames.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def checkpoint_filter_fn(state_dict: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Any checkpoint layout this package knows -> the keys of ``model`` (timm's ``pretrained_filter_fn``).

    The authors' released SecViT / CeiT files are converted (and checked key by key) as for the mm
    backbones; mmpretrain classifier checkpoints of this package lose their ``backbone.`` prefix.
    """
    if isinstance(model, SecViTNet):
        if is_released_secvit_layout(state_dict):
            state_dict = convert_secvit_checkpoint(state_dict)
        renames = {'backbone.': '', 'neck.': 'head.', 'head.fc.': 'head.fc.'}
    elif isinstance(model, CeiTNet):
        if is_released_ceit_layout(state_dict):
            state_dict = convert_ceit_checkpoint(state_dict)
        renames = {'backbone.': '', 'head.fc.': 'head.'}  # pos_embed: resized by CeiT's load hook
    else:
        renames = {'backbone.': '', 'head.fc.': 'head.fc.'}
    if not any(k.startswith('backbone.') for k in state_dict):
        return state_dict
    return _strip_mm_classifier(state_dict, renames)


def _cfg(first_conv: str, classifier: str = 'head.fc', **kwargs) -> dict:
    return dict(dict(url='', num_classes=1000, input_size=(3, 224, 224), pool_size=(7, 7), crop_pct=0.9,
                     interpolation='bicubic', mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD,
                     first_conv=first_conv, classifier=classifier, license='apache-2.0'), **kwargs)


default_cfgs = generate_default_cfgs({
    **{f'secvit_{size}': _cfg('stem.0', paper_ids='arXiv:2405.13337')
       for size in ('tiny', 'small', 'base', 'large')},
    **{f'ceit_{size}': _cfg('i2t.conv', classifier='head', pool_size=None, crop_pct=0.875,
                            paper_ids='arXiv:2103.11816') for size in ('tiny', 'small', 'base')},
    **{f'sec_swin_{size}': _cfg('patch_embed.proj', paper_ids='arXiv:2405.13337') for size in ('tiny', 'small')},
    **{f'sec_fastervit_{size}': _cfg('stem.0', crop_pct=0.875, paper_ids='arXiv:2405.13337') for size in ('0', '1')},
})

#: features_only levels: the four stages of a pyramid; CeiT: the four blocks its mm pyramid taps.
PYRAMID_LEVELS = (0, 1, 2, 3)
CEIT_LEVELS = (3, 5, 8, 11)


def _create(model_cls, variant: str, arch: str, pretrained: bool, levels: Sequence[int], **kwargs) -> nn.Module:
    if kwargs.get('features_only') and model_cls in (SECSwinNet, SECFasterViTNet):
        # an output norm per feature level, as the mm backbone's outputs (Swin / FasterViT style)
        kwargs['norm_indices'] = tuple(kwargs.get('out_indices', levels))
    return build_model_with_cfg(model_cls, variant, pretrained, arch=arch, pretrained_filter_fn=checkpoint_filter_fn,
                                feature_cfg=dict(out_indices=levels, feature_cls='getter'), **kwargs)


@register_model
def secvit_tiny(pretrained: bool = False, **kwargs) -> SecViTNet:
    return _create(SecViTNet, 'secvit_tiny', 'tiny', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def secvit_small(pretrained: bool = False, **kwargs) -> SecViTNet:
    return _create(SecViTNet, 'secvit_small', 'small', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def secvit_base(pretrained: bool = False, **kwargs) -> SecViTNet:
    return _create(SecViTNet, 'secvit_base', 'base', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def secvit_large(pretrained: bool = False, **kwargs) -> SecViTNet:
    return _create(SecViTNet, 'secvit_large', 'large', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def ceit_tiny(pretrained: bool = False, **kwargs) -> CeiTNet:
    return _create(CeiTNet, 'ceit_tiny', 'tiny', pretrained, CEIT_LEVELS, **kwargs)


@register_model
def ceit_small(pretrained: bool = False, **kwargs) -> CeiTNet:
    return _create(CeiTNet, 'ceit_small', 'small', pretrained, CEIT_LEVELS, **kwargs)


@register_model
def ceit_base(pretrained: bool = False, **kwargs) -> CeiTNet:
    return _create(CeiTNet, 'ceit_base', 'base', pretrained, CEIT_LEVELS, **kwargs)


@register_model
def sec_swin_tiny(pretrained: bool = False, **kwargs) -> SECSwinNet:
    return _create(SECSwinNet, 'sec_swin_tiny', 'tiny', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def sec_swin_small(pretrained: bool = False, **kwargs) -> SECSwinNet:
    return _create(SECSwinNet, 'sec_swin_small', 'small', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def sec_fastervit_0(pretrained: bool = False, **kwargs) -> SECFasterViTNet:
    return _create(SECFasterViTNet, 'sec_fastervit_0', '0', pretrained, PYRAMID_LEVELS, **kwargs)


@register_model
def sec_fastervit_1(pretrained: bool = False, **kwargs) -> SECFasterViTNet:
    return _create(SECFasterViTNet, 'sec_fastervit_1', '1', pretrained, PYRAMID_LEVELS, **kwargs)
