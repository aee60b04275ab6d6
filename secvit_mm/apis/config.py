"""Loading a config and the switches the tools turn on in it (``--amp``, ``--tta``, ``--out`` ...).

One entry point for mmdet, mmseg and mmpretrain configs: the config's ``default_scope`` decides which
upstream package's conventions apply; nothing of the upstream tools is copied beyond flags.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict

from secvit_mm.checks.options import check_copied_options
from secvit_mm.errors import ConfigError, OutputExistsError, PathNotFoundError, UsageError

__all__ = ['SCOPES', 'add_dump', 'config_scope', 'default_work_dir', 'enable_amp', 'enable_auto_scale_lr',
           'enable_tta', 'enable_visualization', 'innermost_dataset', 'load_config']

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and apply ``--cfg-options``.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): ``--cfg-options`` key/values. Defaults to None.

    Returns:
        Config: the merged config.

    Raises:
        PathNotFoundError: no such file.
        ConfigOptionError: an option would change nothing (see :func:`check_copied_options`).
        ConfigError: ``default_scope`` is not one of :data:`SCOPES`.
    """
    if not osp.isfile(path):
        raise PathNotFoundError(f'Config file not found: {path!r}')
    cfg = Config.fromfile(path)
    if cfg_options:
        check_copied_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg)
    if scope not in SCOPES:
        raise ConfigError(f'{path}: default_scope must be one of {SCOPES} (inherit an upstream '
                          f"default_runtime.py), got {scope!r}")
    return cfg


def config_scope(cfg: Config) -> Optional[str]:
    """The config's ``default_scope`` (``mmdet``, ``mmseg``, ``mmpretrain``), or None."""
    return cfg.get('default_scope')


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config name>``, upstream's default."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """``--amp``: ``AmpOptimWrapper`` with a dynamic loss scale."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ConfigError(f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, got {optim_wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg: Config) -> None:
    """``--auto-scale-lr``: needs ``auto_scale_lr.base_batch_size`` in the config."""
    if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
        raise ConfigError("--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config")
    cfg.auto_scale_lr.enable = True


def innermost_dataset(dataset: dict) -> dict:
    """The dataset config that holds the pipeline, through wrappers such as ``RepeatDataset``."""
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return dataset


def enable_tta(cfg: Config) -> None:
    """Test with the config's ``tta_pipeline`` and its model wrapped in ``tta_model`` (upstream --tta)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise ConfigError(f'--tta needs {" and ".join(missing)} in the config (see configs/_base_/tta_coco.py '
                          "for detection; mmseg's ade20k.py / default_runtime.py bases give them to segmentation)")
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    innermost_dataset(cfg.test_dataloader.dataset).pipeline = cfg.tta_pipeline


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """``--show-dir``: turn on the scope's visualization hook, writing pictures into ``show_dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ConfigError("--show-dir needs a 'visualization' entry in default_hooks")
    scope = config_scope(cfg)
    if scope == 'mmdet':
        hook.update(draw=True, test_out_dir=osp.abspath(show_dir))
    elif scope == 'mmseg':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir
    else:
        hook.update(enable=True, out_dir=osp.abspath(show_dir))


def add_dump(cfg: Config, out: str, overwrite: bool = False) -> None:
    """``--out``: also dump the predictions to the pickle file ``out``.

    Args:
        cfg (Config): the config to change.
        out (str): a ``.pkl`` / ``.pickle`` path.
        overwrite (bool): replace an existing file. Defaults to False.
    """
    if not out.endswith(('.pkl', '.pickle')):
        raise UsageError(f'--out must be a .pkl/.pickle file, got {out!r}')
    if osp.exists(out) and not overwrite:
        raise OutputExistsError(f'--out {out!r} exists; pass --overwrite to replace it, or choose '
                                'another file')
    dump = dict(type='DumpDetResults' if config_scope(cfg) == 'mmdet' else 'mmengine.DumpResults',
                out_file_path=out)
    evaluator = cfg.test_evaluator
    cfg.test_evaluator = list(evaluator) + [dump] if isinstance(evaluator, (list, tuple)) else [evaluator, dump]
