"""Build the model (or its backbone) of a config, in the config's scope: what every tool and test uses.

A config's ``default_scope`` (mmdet / mmseg / mmpretrain) decides which registry builds its model;
the backbones of this package are found there through mmengine's registry inheritance.
"""
import logging
from typing import Optional, Union

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope, Registry, init_default_scope
from torch import nn

from secvit_mm.errors import CheckpointContentError
from secvit_mm.utils.checkpoint import extract_state_dict, load_state_dict_strictly, read_checkpoint

from .config import config_scope, load_config

__all__ = ['build_model', 'scope_registry']


def scope_registry(scope: str, set_default: bool = True) -> Registry:
    """The MODELS registry of ``scope``, with all of that package's modules registered.

    With ``set_default`` (as OpenMMLab's ``init_*`` APIs do) ``scope`` also becomes the default scope
    of everything built afterwards (datasets, pipelines ...).
    """
    if set_default:
        init_default_scope(scope)
    package = __import__(f'{scope}.utils', fromlist=['register_all_modules'])
    package.register_all_modules(init_default_scope=False)
    return __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS


def build_model(config: Union[str, Config], checkpoint: Optional[str] = None, backbone_only: bool = False,
                cfg_options: Optional[dict] = None) -> nn.Module:
    """The model of a config (or only ``model.backbone``), in eval mode.

    Built in the config's scope; the caller's default scope is left as it was (call
    :func:`scope_registry` to make the config's scope the default, e.g. to build its datasets).

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
    registry = scope_registry(scope, set_default=False)
    model_cfg = cfg.model.copy()
    if 'backbone' in model_cfg:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    if cfg.get('data_preprocessor') is not None:  # the Runner's default
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(scope):
        return _build(registry, model_cfg.backbone if backbone_only else model_cfg, checkpoint, backbone_only)


def _build(registry: Registry, model_cfg: dict, checkpoint: Optional[str], backbone_only: bool) -> nn.Module:
    """Build, then init or load (inside the config's scope)."""
    model = registry.build(model_cfg)
    if checkpoint is None:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # mmengine reports every tensor's init at INFO: noise in a tool
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
        return model.eval()
    state_dict = extract_state_dict(read_checkpoint(checkpoint), checkpoint)
    if backbone_only:
        state_dict = {k[len('backbone.'):]: v for k, v in state_dict.items() if k.startswith('backbone.')}
        if not state_dict:
            raise CheckpointContentError(f'{checkpoint}: no backbone.* keys')
    load_state_dict_strictly(model, state_dict, checkpoint)
    return model.eval()
