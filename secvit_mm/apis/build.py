"""Build the model (or its backbone) of a config, in the config's scope: what every tool and test uses.

A config's ``default_scope`` (mmdet / mmseg / mmpretrain) decides which registry builds its model;
the backbones of this package are found there through mmengine's registry inheritance.
"""
from typing import Optional, Union

from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry, init_default_scope
from torch import nn

from ..utils.checkpoint import extract_state_dict, load_state_dict_strictly, read_checkpoint
from .launch import config_scope, load_config

__all__ = ['build_model', 'scope_registry']


def scope_registry(scope: str) -> Registry:
    """The MODELS registry of ``scope``, with all of that package's modules registered."""
    init_default_scope(scope)
    package = __import__(f'{scope}.utils', fromlist=['register_all_modules'])
    package.register_all_modules(init_default_scope=False)
    return __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS


def build_model(config: Union[str, Config], checkpoint: Optional[str] = None, backbone_only: bool = False,
                cfg_options: Optional[dict] = None) -> nn.Module:
    """The model of a config (or only ``model.backbone``), in eval mode.

    Without ``checkpoint`` the weights are the model's random init (``init_weights()``; the
    backbone's ``init_cfg`` is dropped, so no ImageNet checkpoint is needed). With one, every tensor
    comes from it (a Runner / converted checkpoint; for ``backbone_only`` its ``backbone.*`` keys),
    and any missing, unexpected or mis-shaped key is an error.

    Args:
        config: a config path or a loaded :class:`~mmengine.config.Config` (not modified).
        checkpoint: a checkpoint to load.
        backbone_only: build ``model.backbone`` alone.
        cfg_options: overrides merged into a config given by path.
    """
    import secvit_mm  # noqa: F401  (registers the backbones, as custom_imports would)
    cfg = load_config(config, cfg_options) if isinstance(config, str) else config.copy()
    scope = config_scope(cfg)
    registry = scope_registry(scope)
    model_cfg = cfg.model.copy()
    if 'backbone' in model_cfg:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    if cfg.get('data_preprocessor') is not None:  # the Runner's default
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(model_cfg.backbone if backbone_only else model_cfg)
    if checkpoint is None:
        model.init_weights()
        return model.eval()
    state_dict = extract_state_dict(read_checkpoint(checkpoint), checkpoint)
    if backbone_only:
        state_dict = {k[len('backbone.'):]: v for k, v in state_dict.items() if k.startswith('backbone.')}
        if not state_dict:
            raise ValueError(f'{checkpoint}: no backbone.* keys')
    load_state_dict_strictly(model, state_dict, checkpoint)
    return model.eval()
