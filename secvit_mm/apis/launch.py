"""What tools/train.py and tools/test.py share: one entry point for mmdet, mmseg and mmpretrain configs.

The config's ``default_scope`` decides which upstream package's conventions apply; the Runner itself is
mmengine's (or the config's ``runner_type``), so nothing of the upstream tools is copied beyond flags.
"""
import contextlib
import errno
import os
import os.path as osp
import sys
from typing import Iterator, Optional

from mmengine.config import Config, ConfigDict, DictAction  # noqa: F401  (DictAction re-exported for the tools)
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path!r}')
    cfg = Config.fromfile(path)
    if cfg_options:
        check_copied_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg)
    if scope not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES} (inherit an upstream '
                         f"default_runtime.py), got {scope!r}")
    return cfg


def _leaves(obj, prefix=''):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f'{prefix}{k}.')
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f'{prefix}{i}.')
    else:
        yield prefix[:-1], obj


def check_copied_options(cfg: Config, options: dict) -> None:
    """ConfigOptionError for a top-level ``--cfg-options`` key whose value the config already copied.

    ``max_epochs = 6; train_cfg = dict(max_epochs=max_epochs)`` is evaluated when the file is read,
    so ``--cfg-options max_epochs=1`` would change only the unused top-level variable.
    """
    tree = cfg.to_dict()
    for key, new in options.items():
        if '.' in key or key not in tree:
            continue
        old = tree[key]
        if old is None or isinstance(old, (bool, dict)) or old == new:
            continue
        copies = [path for path, value in _leaves(tree)
                  if path != key and not any(path == k or path.startswith(k + '.') for k in options)
                  and (value == old or (isinstance(old, str) and isinstance(value, str)
                                         and len(old) > 1 and value.startswith(old)))]
        named = [p for p in copies if p.split('.')[-1] == key]
        if not named and not (copies and not isinstance(old, (int, float))):
            continue
        target = named or copies
        others = [p for p in copies if p not in target]
        raise ConfigOptionError(
            f'--cfg-options {key}={new!r} would change nothing: the config copied {key} '
            f'({old!r}) into {", ".join(target)} when it was read; set '
            + ' '.join(f'{p}=...' for p in target) + ' instead'
            + (f' (also equal to {old!r}, check: {", ".join(others)})' if others else ''))


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


def leaf_datasets(dataset: dict):
    """The leaf dataset configs (through RepeatDataset / ConcatDataset / ClassBalancedDataset)."""
    if not isinstance(dataset, dict):
        return
    inner = dataset.get('dataset')
    inners = dataset.get('datasets')
    if isinstance(inner, dict):
        yield from leaf_datasets(inner)
    elif isinstance(inners, (list, tuple)):
        for d in inners:
            yield from leaf_datasets(d)
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
        for dataset in leaf_datasets(loader.get('dataset')):
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


# Keys mmengine's Runner.build_dataloader takes itself; the rest go to torch's DataLoader.
_RUNNER_DATALOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                           'num_batch_per_epoch', 'disable_subprocess_warning')


def check_dataloader_keys(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """ConfigError naming an unknown ``*_dataloader`` key (was: a TypeError from torch's DataLoader)."""
    import difflib
    import inspect

    from torch.utils.data import DataLoader
    valid = sorted(set(inspect.signature(DataLoader.__init__).parameters) - {'self'}
                   | set(_RUNNER_DATALOADER_KEYS))
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key in loader:
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ''
                raise ConfigError(f'{split}_dataloader: unknown key {key!r}{hint}; valid keys: '
                                  f'{", ".join(valid)}')


def check_neck_channels(cfg: Config) -> None:
    """ConfigError when the backbone's outputs do not match the neck's ``in_channels``.

    Upstream necks fail with a bare ``assert len(inputs) == len(self.in_channels)`` at the first
    forward, or with a conv shape error. The backbone is built (cheap, no weights loaded) to learn
    its output channels.
    """
    model = cfg.get('model')
    if not isinstance(model, dict):
        return
    backbone, neck = model.get('backbone'), model.get('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    if not isinstance(backbone, dict) or not isinstance(neck, dict) or 'in_channels' not in neck:
        return
    from mmengine.registry import MODELS
    from mmengine.registry import DefaultScope
    scope = config_scope(cfg) or 'mmengine'
    try:
        with DefaultScope.overwrite_default_scope(scope):
            built = MODELS.build({**backbone, 'init_cfg': None})
    except Exception:  # noqa: BLE001 - a bad backbone config has its own errors at build time
        return
    channels = getattr(built, 'num_features', None)
    if not isinstance(channels, (list, tuple)):
        return
    wanted = neck['in_channels']
    wanted = list(wanted) if isinstance(wanted, (list, tuple)) else [wanted]
    if list(channels) != wanted[:len(channels)] or len(wanted) != len(channels):
        raise ConfigError(
            f'model.backbone.out_indices {tuple(getattr(built, "out_indices", ()))} gives '
            f'{len(channels)} feature maps with channels {list(channels)}, but model.neck.in_channels '
            f'is {wanted}; set model.neck.in_channels={list(channels)} or change out_indices')


def check_head_classes(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """ConfigError when a head's ``num_classes`` differs from the classes of a dataset of ``splits``.

    mmdet would train a narrower head with the extra classes as its background index (exit 0)
    and fail mid-run in the mask head or the metric; found here before anything is built.
    """
    from secvit_mm.datasets.checks import head_class_mismatches
    wrong = head_class_mismatches(cfg, splits)
    if wrong:
        raise ConfigError('; '.join(wrong))


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


# ----------------------------------------------------------------------------- run guards


class WorkDirLockedError(RuntimeError):
    """Another live run holds the work dir."""


LOCK_NAME = '.secvit_mm.lock'


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[None]:
    """Hold ``<work_dir>/.secvit_mm.lock`` (``flock``) for the run; refuse a second run into it.

    The kernel releases the lock when its process dies, so the lock of a killed run is free and is
    taken over (said in one line). Only the main process of a distributed run takes it.
    """
    rank = next((os.environ[k] for k in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')
                 if k in os.environ), '0')  # torchrun / slurm / mpi, before mmengine sets RANK
    if int(rank) != 0:
        yield
        return
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors='replace').strip() or 'unknown'
            raise WorkDirLockedError(
                f'{work_dir} is in use by another run (PID {holder}); wait for it to end, stop '
                'it, or use another --work-dir') from None
        previous = os.pread(fd, 200, 0).decode(errors='replace').strip()
        if previous and previous != str(os.getpid()):
            print(f'{work_dir}: took over the lock of run PID {previous}, which has ended',
                  file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the flock


def clean_stale_tmp(work_dir: str) -> list:
    """Remove ``*.tmp`` checkpoint files a killed run left (call while holding the lock)."""
    from secvit_mm.utils.atomic_checkpoint import TMP_SUFFIX
    if not osp.isdir(work_dir):
        return []
    stale = sorted(f for f in os.listdir(work_dir)
                   if f.endswith(TMP_SUFFIX) and ('.pth' in f or f.startswith('last_checkpoint')))
    for name in stale:
        os.remove(osp.join(work_dir, name))
    if stale:
        print(f'{work_dir}: removed {len(stale)} partial checkpoint file(s) of an interrupted run: '
              f'{", ".join(stale)}', file=sys.stderr)
    return stale


def resume_checkpoint(work_dir: str, resume: Optional[str]) -> Optional[str]:
    """The file ``--resume`` would load (``auto``: what ``last_checkpoint`` names), checked to exist."""
    if resume != 'auto':
        return resume
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None  # nothing to resume: mmengine starts from scratch, as upstream
    with open(record) as f:
        named = f.read().strip()
    if named and not osp.isfile(named):
        found = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
        raise FileNotFoundError(
            f'{record} names {named!r}, which does not exist; resume from an existing checkpoint '
            f'with --resume PATH (in {work_dir}: {", ".join(found) or "none"}) or delete '
            f'{record} to start over')
    return named or None


def _loop_position(cfg: Config):
    """(unit, max) of the config's train loop: ('epoch', max_epochs) or ('iter', max_iters)."""
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_epochs' in train_cfg:
        return 'epoch', train_cfg['max_epochs']
    if 'max_iters' in train_cfg:
        return 'iter', train_cfg['max_iters']
    return None, None


def check_resume(cfg: Config, checkpoint: dict, path: str) -> None:
    """Refuse resuming a run that is already finished (mmengine would exit 0 doing nothing)."""
    unit, limit = _loop_position(cfg)
    done = (checkpoint.get('meta') or {}).get(unit) if unit else None
    if isinstance(done, int) and isinstance(limit, int) and done >= limit:
        key = 'max_epochs' if unit == 'epoch' else 'max_iters'
        raise RunFinishedError(
            f'{path}: this run is already finished ({unit} {done} of {key}={limit}); to train '
            f'longer, resume with a larger train_cfg.{key} (--cfg-options train_cfg.{key}=N), or '
            'start a new run with another --work-dir')


class RunFinishedError(RuntimeError):
    """``--resume`` of a run that has reached its last epoch / iteration."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the config's model."""


def check_checkpoint_fits(model, path: str, what: str, allow: str) -> dict:
    """Load ``path`` (safely); CheckpointMismatchError with the key table if it does not fit ``model``."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    from mmengine.runner.checkpoint import _load_checkpoint

    from secvit_mm.utils.checkpoint import describe_state_dict_mismatch, extract_state_dict
    checkpoint = _load_checkpoint(path, map_location='cpu')
    try:
        state_dict = extract_state_dict(checkpoint, path)
    except ValueError as err:
        raise CheckpointMismatchError(str(err)) from None
    state_dict = {k[7:] if k.startswith('module.') else k: v for k, v in state_dict.items()}
    # What the Runner loads the checkpoint into: the module inside a DDP or TTA wrapper.
    model = model.module if is_model_wrapper(model) or isinstance(model, BaseTTAModel) else model
    problem = describe_state_dict_mismatch(model.state_dict(), state_dict)
    if problem:
        table = '\n'.join(f'  {part}' for part in problem.split('; '))
        raise CheckpointMismatchError(
            f'{path} does not fit the model of this config ({what}):\n{table}\n'
            f'Use the checkpoint of this config{allow}.')
    return checkpoint


def run_cli(main) -> int:
    """Run a tool's ``main``: the project's own refusals end in one line on stderr, exit code 1."""
    from secvit_mm.datasets.checks import DataCheckError
    from secvit_mm.utils import DataFileError, EmptyGroundTruthError, UnsafeCheckpointError
    from secvit_mm.utils.safe_load import CheckpointReadError
    known = (DataCheckError, DataFileError, EmptyGroundTruthError, UnsafeCheckpointError,
             CheckpointReadError, WorkDirLockedError, RunFinishedError, CheckpointMismatchError, ConfigError,
             FileNotFoundError, FileExistsError, PermissionError)
    try:
        return main() or 0
    except known as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG):
            print(f'error: cannot write {err.filename or "a file"}: {err.strerror}; free space '
                  '(or raise the file size limit) or choose a writable --work-dir, then continue '
                  'with --resume', file=sys.stderr)
            return 1
        raise


class ConfigError(ValueError):
    """A config setting that cannot work, found before anything is built."""


class ConfigOptionError(ConfigError):
    """A ``--cfg-options`` key that would change nothing."""
