"""Checks of a config before anything is built: its paths, dataloader keys and neck channels.

Upstream fails on each of these much later, with a bare error deep in a dataset class, torch's
DataLoader or a neck's forward. :func:`secvit_mm.apis.runner.prepare_run` runs them in order.
"""
import os
import os.path as osp

from mmengine.config import Config

from secvit_mm.errors import CheckpointNotFoundError, ConfigError, DataNotFoundError
from secvit_mm.families import family_of_type

__all__ = ['check_checkpoint_paths', 'check_data_paths', 'check_dataloader_keys', 'check_neck_channels',
           'leaf_datasets']


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
    """DataNotFoundError naming the missing data_root / ann_file of a split, with how to get the data.

    Upstream would fail later with a bare ``No such file or directory`` deep in a dataset class.
    Remote paths (``s3://`` ...) are not checked.

    Args:
        cfg (Config): the merged config.
        splits (Sequence[str]): the ``<split>_dataloader`` entries to check. Defaults to
            ``('train', 'val', 'test')``.
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
                raise DataNotFoundError(
                    f'{split}_dataloader: dataset path not found: {missing!r} (cwd {os.getcwd()!r}); '
                    + _data_hint(missing))


# Keys mmengine's Runner.build_dataloader takes itself; the rest go to torch's DataLoader.
_RUNNER_DATALOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                           'num_batch_per_epoch', 'disable_subprocess_warning')


def check_dataloader_keys(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """ConfigError naming an unknown ``*_dataloader`` key (was: a TypeError from torch's DataLoader).

    Args:
        cfg (Config): the merged config.
        splits (Sequence[str]): the dataloaders to check. Defaults to ``('train', 'val', 'test')``.
    """
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

    Args:
        cfg (Config): the merged config; configs without ``model.neck.in_channels`` pass.
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
    scope = cfg.get('default_scope') or 'mmengine'
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


def check_checkpoint_paths(cfg: Config) -> None:
    """CheckpointNotFoundError for a missing ``load_from`` or backbone ``init_cfg`` Pretrained checkpoint.

    A list ``init_cfg`` holding ``type='Pretrained'`` is a ConfigError: it would bypass the strict loader.
    """
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and '://' not in load_from and not osp.isfile(load_from):
        raise CheckpointNotFoundError(f'load_from: checkpoint not found: {load_from!r}')
    backbone = cfg.get('model', {}).get('backbone') if isinstance(cfg.get('model'), dict) else None
    init_cfg = backbone.get('init_cfg') if isinstance(backbone, dict) else None
    from secvit_mm.models.pretrained import pretrained_init_cfg
    if pretrained_init_cfg(init_cfg, 'model.backbone') is not None:
        ckpt = init_cfg.get('checkpoint')
        if isinstance(ckpt, str) and '://' not in ckpt and not osp.isfile(ckpt):
            family = family_of_type(backbone.get('type', ''))
            if family is not None and family.converter:
                how = f'convert the released weights with {family.converter} (README, "Pretrained weights")'
            elif family is not None:
                how = f'train configs/{family.name}_*_in1k.py first and put its checkpoint there'
            else:
                how = 'put the backbone checkpoint there'
            raise CheckpointNotFoundError(
                f'model.backbone.init_cfg: pretrained checkpoint not found: {ckpt!r}; {how}, or train from '
                'scratch with --cfg-options model.backbone.init_cfg=None')
