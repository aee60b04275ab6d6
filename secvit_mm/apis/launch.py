"""What tools/train.py and tools/test.py share: one entry point for mmdet, mmseg and mmpretrain configs.

The config's ``default_scope`` decides which upstream package's conventions apply; the Runner itself is
mmengine's (or the config's ``runner_type``), so nothing of the upstream tools is copied beyond flags.
"""
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for the tools)
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path!r}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg)
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES} (inherit an upstream '
                         f"default_runtime.py), got {scope!r}")
    return cfg


def config_scope(cfg: Config) -> Optional[str]:
    return cfg.get('default_scope')


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, got {optim_wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg: Config) -> None:
    if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
        raise ValueError("--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config")
    cfg.auto_scale_lr.enable = True


def refuse_to_overwrite(work_dir: str, resume: bool) -> None:
    """A new run must not overwrite the checkpoints of an earlier one in the same work dir."""
    if resume or not osp.isdir(work_dir):
        return
    earlier = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth') or f == 'last_checkpoint')
    if earlier:
        raise FileExistsError(
            f'{work_dir} already holds checkpoints of an earlier run ({", ".join(earlier[:4])}); '
            'continue it with --resume, or start a new run with another --work-dir')


def build_runner(cfg: Config) -> Runner:
    os.makedirs(cfg.work_dir, exist_ok=True)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
