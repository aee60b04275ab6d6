"""Building the Runner, and :func:`prepare_run`: the one pre-run sequence of tools/train.py and tools/test.py.

The order of the checks is written once, here: launcher environment, config, output folders,
paths, dataloader keys and values, neck channels, heads vs the datasets' classes, checkpoints, the
fast data checks, then the work-dir lock (tools/test.py: of its ``test/`` subfolder) and the resume
guards, the guard on files the run cannot decode, the Runner, and the fit of the checkpoint to its
model.
"""
import argparse
import contextlib
import os
import os.path as osp
from typing import Iterator

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from secvit_mm.apis.config import (add_dump, default_work_dir, enable_amp, enable_auto_scale_lr, enable_tta,
                                   enable_visualization, load_config)
from secvit_mm.checks.data import check_head_classes, enforce_data_checks
from secvit_mm.checks.outputs import check_output_dir, check_outputs_apart, input_folders
from secvit_mm.checks.preflight import (check_checkpoint_paths, check_data_paths, check_dataloader_keys,
                                        check_dataloader_values, check_launcher_env, check_neck_channels,
                                        leaf_datasets)
from secvit_mm.checks.run_guards import (check_checkpoint_fits, check_resume, clean_stale_tmp,
                                         refuse_to_overwrite, resume_checkpoint, work_dir_lock)
from secvit_mm.engine.hooks.atomic_checkpoint import atomic_output
from secvit_mm.errors import CheckpointNotFoundError

__all__ = ['MODES', 'build_runner', 'guard_file_loading', 'prepare_run', 'use_gloo_without_cuda']

MODES = ('train', 'test')
#: tools/test.py runs in this subfolder of its work dir: the Runner writes its config copy and logs
#: into its work dir, which would replace those of a training run there (live or finished).
TEST_SUBDIR = 'test'


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


def _loads_a_file(transform) -> bool:
    kind = transform.get('type') if isinstance(transform, dict) else None
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.split('.')[-1].startswith('Load')


def guard_file_loading(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """Wrap each top-level ``Load*`` transform of the splits' pipelines in ``FileReadGuard``.

    A file the run cannot decode then ends it in one line naming the file
    (:mod:`secvit_mm.utils.file_guard`) instead of a DataLoader worker's trace.

    Args:
        cfg (Config): The run's config; its dataset pipelines are changed in place.
        splits (Sequence[str]): The splits whose dataloaders the run uses.
    """
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for dataset in leaf_datasets(loader.get('dataset')):
            pipeline = dataset.get('pipeline')
            if isinstance(pipeline, (list, tuple)):
                dataset['pipeline'] = [dict(type='FileReadGuard', transform=t) if _loads_a_file(t) else t
                                       for t in pipeline]


def build_runner(cfg: Config) -> Runner:
    """The config's Runner (``runner_type`` when set), its work dir created; CPU DDP uses gloo."""
    os.makedirs(cfg.work_dir, exist_ok=True)
    use_gloo_without_cuda(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def _set_checkpoint(cfg: Config, args: argparse.Namespace, mode: str) -> None:
    """``cfg.resume`` / ``cfg.load_from`` from ``--resume`` (train) or the CHECKPOINT argument (test)."""
    if mode == 'train':
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume is not None:
            if not osp.isfile(args.resume):
                raise CheckpointNotFoundError(f'--resume: checkpoint not found: {args.resume!r}')
            cfg.resume, cfg.load_from = True, args.resume
    elif args.checkpoint == 'random':
        cfg.load_from = None
    else:
        if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
            raise CheckpointNotFoundError(f'Checkpoint not found: {args.checkpoint!r}')
        cfg.load_from = args.checkpoint


@contextlib.contextmanager
def prepare_run(args: argparse.Namespace, mode: str) -> Iterator[Runner]:
    """Everything before ``runner.train()`` / ``runner.test()``, in one order for both tools.

    Use it as ``with prepare_run(args, 'train') as runner: runner.train()``: a training run holds
    the work-dir lock until the block ends.

    Args:
        args (argparse.Namespace): the parsed command line of ``tools/train.py`` or
            ``tools/test.py`` (``config``, ``cfg_options``, ``launcher``, ``work_dir``,
            ``skip_data_check``; train: ``amp``, ``auto_scale_lr``, ``resume``; test:
            ``checkpoint``, ``tta``, ``show_dir``, ``out``, ``overwrite``, ``non_strict``).
        mode (str): ``'train'`` or ``'test'``.

    Yields:
        Runner: the built runner, its checkpoint checked to fit its model.

    Raises:
        SecvitError: the first check that refuses the run (see :mod:`secvit_mm.errors`).
    """
    assert mode in MODES, mode
    train = mode == 'train'
    check_launcher_env(args.launcher)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    check_output_dir(cfg.work_dir, '--work-dir')
    if not train:
        cfg.work_dir = osp.join(cfg.work_dir, TEST_SUBDIR)
        if args.show_dir:
            check_output_dir(args.show_dir, '--show-dir')
            # Drawings are named after their images: in the image folder they would replace them.
            check_outputs_apart([args.show_dir], input_folders(cfg, 'test'), '--show-dir', args.show_dir)
        if args.out:
            check_outputs_apart([args.out], [args.config, args.checkpoint], '--out', args.out)
    if train and args.amp:
        enable_amp(cfg)
    if train and args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    _set_checkpoint(cfg, args, mode)
    if train:
        splits = ('train', 'val') if cfg.get('val_cfg') else ('train', )
    else:
        splits = ('test', )
    check_data_paths(cfg, splits)
    check_dataloader_keys(cfg, splits)
    check_dataloader_values(cfg, splits)
    check_neck_channels(cfg)
    check_head_classes(cfg, splits)
    if train and not cfg.get('resume'):
        check_checkpoint_paths(cfg)
    if not args.skip_data_check:
        enforce_data_checks(cfg, splits, f'tools/{mode}.py')
    if train:
        # Also with --skip-data-check: it only stops an epoch that had no ground truth at all.
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(h.get('type') == 'GroundTruthGuardHook' for h in hooks):
            cfg.custom_hooks = hooks + [dict(type='GroundTruthGuardHook')]
        guard_file_loading(cfg, splits)
        with work_dir_lock(cfg.work_dir):
            refuse_to_overwrite(cfg.work_dir, bool(cfg.get('resume')))
            clean_stale_tmp(cfg.work_dir)
            resume_from = resume_checkpoint(cfg.work_dir, args.resume) if args.resume else None
            runner = build_runner(cfg)
            if resume_from:
                # Before Runner.resume touches any optimiser state.
                checkpoint = check_checkpoint_fits(runner.model, resume_from, 'resume',
                                                   ', or start a new run with another --work-dir')
                check_resume(cfg, checkpoint, resume_from)
                del checkpoint
            yield runner
        return
    if args.tta:
        enable_tta(cfg)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        add_dump(cfg, args.out, args.overwrite)
    guard_file_loading(cfg, splits)
    # Under its own lock (two tests into one work dir would share the config copy and logs); --out
    # appears only once complete, so a killed run leaves an earlier file whole.
    with work_dir_lock(cfg.work_dir), (atomic_output(args.out) if args.out else contextlib.nullcontext()) as tmp:
        if tmp:
            cfg.test_evaluator[-1]['out_file_path'] = tmp
        runner = build_runner(cfg)
        if cfg.load_from and not args.non_strict and '://' not in cfg.load_from:
            check_checkpoint_fits(runner.model, cfg.load_from, 'test', ', or pass --non-strict to evaluate it anyway')
        yield runner
