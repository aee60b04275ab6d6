"""What tools/train.py and tools/test.py share: one entry point for mmdet, mmseg and mmpretrain configs.

The config's ``default_scope`` decides which upstream package's conventions apply; the Runner itself is
mmengine's (or the config's ``runner_type``), so nothing of the upstream tools is copied beyond flags.
"""
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict, DictAction  # noqa: F401  (DictAction re-exported for the tools)
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


def innermost_dataset(dataset: dict) -> dict:
    """The dataset config that holds the pipeline, through wrappers such as ``RepeatDataset``."""
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return dataset


def enable_tta(cfg: Config) -> None:
    """Test with the config's ``tta_pipeline`` and its model wrapped in ``tta_model`` (upstream --tta)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise ValueError(f'--tta needs {" and ".join(missing)} in the config (see configs/_base_/tta_coco.py '
                         "for detection; mmseg's ade20k.py / default_runtime.py bases give them to segmentation)")
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    innermost_dataset(cfg.test_dataloader.dataset).pipeline = cfg.tta_pipeline


def refuse_to_overwrite(work_dir: str, resume: bool) -> None:
    """A new run must not overwrite the checkpoints of an earlier one in the same work dir."""
    if resume or not osp.isdir(work_dir):
        return
    earlier = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth') or f == 'last_checkpoint')
    if earlier:
        raise FileExistsError(
            f'{work_dir} already holds checkpoints of an earlier run ({", ".join(earlier[:4])}); '
            'continue it with --resume, or start a new run with another --work-dir')


def use_gloo_without_cuda(cfg: Config) -> None:
    """Multi-process runs without CUDA: gloo instead of the upstream runtimes' NCCL, CPU DDP.

    mmengine's ``init_dist('pytorch')`` always calls ``torch.cuda.set_device`` and its Runner hands
    DDP ``device_ids=[LOCAL_RANK]``; neither works on CPU. So the process group is set up here (the
    Runner then finds it initialised) and DDP gets ``device_ids=None``.
    """
    import torch
    import torch.distributed as torch_dist
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.launcher == 'pytorch' and not torch_dist.is_initialized():
        torch_dist.init_process_group(**dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def _data_hint(path: str) -> str:
    norm = path.replace('\\', '/')
    if 'data/demo' in norm:
        return 'make the demo data with: python tools/make_demo_data.py (writes data/demo/coco and data/demo/ade)'
    if 'ade' in norm.lower():
        return ('put ADE20K at data/ade/ADEChallengeData2016 (images/ and annotations/ with training/ and '
                'validation/), or point data_root at it: --cfg-options train_dataloader.dataset.data_root=...')
    if 'coco' in norm.lower():
        return ('put COCO 2017 at data/coco (annotations/instances_{train,val}2017.json, train2017/, val2017/), '
                'or point data_root at it: --cfg-options train_dataloader.dataset.data_root=...')
    if 'imagenet' in norm.lower():
        return 'put ImageNet at data/imagenet (train/, val/ and meta/), or point data_root at it'
    return 'fix data_root / ann_file in the config or with --cfg-options'


def _datasets(dataset: dict):
    """The leaf dataset configs (through RepeatDataset / ConcatDataset / ClassBalancedDataset)."""
    if not isinstance(dataset, dict):
        return
    inner = dataset.get('dataset')
    inners = dataset.get('datasets')
    if isinstance(inner, dict):
        yield from _datasets(inner)
    elif isinstance(inners, (list, tuple)):
        for d in inners:
            yield from _datasets(d)
    else:
        yield dataset


def check_data_paths(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """FileNotFoundError naming the missing data_root / ann_file of a split, with how to get the data.

    Upstream would fail later with a bare ``No such file or directory`` deep in a dataset class.
    Remote paths (``s3://`` ...) are not checked.
    """
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for dataset in _datasets(loader.get('dataset')):
            root = dataset.get('data_root') or ''
            if not isinstance(root, str) or '://' in root:
                continue
            missing = None
            if root and not osp.isdir(root):
                missing = root
            else:
                ann = dataset.get('ann_file')
                if isinstance(ann, str) and ann and '://' not in ann:
                    path = ann if osp.isabs(ann) else osp.join(root, ann)
                    if not osp.exists(path):
                        missing = path
            if missing:
                raise FileNotFoundError(
                    f'{split}_dataloader: dataset path not found: {missing!r} (cwd {os.getcwd()!r}); '
                    + _data_hint(missing))


def check_checkpoint_paths(cfg: Config) -> None:
    """FileNotFoundError for a missing ``load_from`` or backbone ``init_cfg`` Pretrained checkpoint."""
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and '://' not in load_from and not osp.isfile(load_from):
        raise FileNotFoundError(f'load_from: checkpoint not found: {load_from!r}')
    backbone = cfg.get('model', {}).get('backbone') if isinstance(cfg.get('model'), dict) else None
    init_cfg = backbone.get('init_cfg') if isinstance(backbone, dict) else None
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        ckpt = init_cfg.get('checkpoint')
        if isinstance(ckpt, str) and '://' not in ckpt and not osp.isfile(ckpt):
            raise FileNotFoundError(
                f'model.backbone.init_cfg: pretrained checkpoint not found: {ckpt!r}; convert the '
                'released weights with tools/convert_secvit.py / tools/convert_ceit.py (README, '
                '"Pretrained weights"), or train from scratch with --cfg-options model.backbone.init_cfg=None')


def build_runner(cfg: Config) -> Runner:
    os.makedirs(cfg.work_dir, exist_ok=True)
    use_gloo_without_cuda(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
