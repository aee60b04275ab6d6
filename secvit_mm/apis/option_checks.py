"""Config and command-line mistakes found before anything is built, each as one line.

* :func:`check_option_arguments` -- a ``--cfg-options`` key that adds an argument the object it
  configures does not take (``optim_wrapper.optimizer.lrr``, ``train_cfg.max_epoch``): upstream
  fails with a ``TypeError`` deep in the build;
* :func:`check_dataloader_values` -- ``batch_size`` / ``num_workers`` torch's DataLoader refuses;
* :func:`check_launcher_env` -- ``--launcher pytorch`` / ``slurm`` / ``mpi`` outside the launcher
  that sets their environment.
"""
import difflib
import inspect
import os
from typing import Optional

from .launch import ConfigError

__all__ = ['check_option_arguments', 'check_dataloader_values', 'check_launcher_env']

# The registry that builds the object at a config path (its first key; optimizer inside the wrapper).
_REGISTRIES = {
    'model': 'MODELS', 'optim_wrapper': 'OPTIM_WRAPPERS', 'optim_wrapper.optimizer': 'OPTIMIZERS',
    'param_scheduler': 'PARAM_SCHEDULERS', 'train_cfg': 'LOOPS', 'val_cfg': 'LOOPS', 'test_cfg': 'LOOPS',
    'default_hooks': 'HOOKS', 'custom_hooks': 'HOOKS', 'visualizer': 'VISUALIZERS',
    'val_evaluator': 'METRICS', 'test_evaluator': 'METRICS',
}
_DATALOADER_PARTS = {'dataset': 'DATASETS', 'sampler': 'DATA_SAMPLERS', 'batch_sampler': 'DATA_SAMPLERS'}


def _registry_for(path: list) -> Optional[str]:
    """The registry name building the dict at ``path`` (list of keys), if known."""
    dotted = '.'.join(str(p) for p in path)
    if dotted in _REGISTRIES:
        return _REGISTRIES[dotted]
    if path and path[0] in ('default_hooks', 'custom_hooks') and len(path) == 2:
        return 'HOOKS'
    if path and path[0] in ('param_scheduler', 'val_evaluator', 'test_evaluator') and len(path) == 2:
        return _REGISTRIES[path[0]]
    if len(path) == 2 and str(path[0]).endswith('_dataloader') and path[1] in _DATALOADER_PARTS:
        return _DATALOADER_PARTS[path[1]]
    if len(path) >= 2 and path[0] == 'model' and path[-1] in ('backbone', 'neck', 'decode_head',
                                                                'auxiliary_head', 'data_preprocessor'):
        return 'MODELS'
    return None


def _arguments(obj) -> Optional[list]:
    """The keyword arguments ``obj`` (a class or a function) takes; None if it takes any."""
    func = obj.__init__ if inspect.isclass(obj) else obj
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return None
    return [name for name, p in params.items() if name != 'self' and p.kind != p.VAR_POSITIONAL]


def _lookup(scope: str, registry_name: str, type_name: str):
    """The class ``type_name`` in ``scope``'s registry ``registry_name`` (None when not found)."""
    import mmengine.registry as root
    registry = getattr(root, registry_name)
    try:
        with registry.switch_scope_and_registry(scope) as scoped:
            return scoped.get(type_name)
    except Exception:  # noqa: BLE001 - an unknown type is reported by the build itself
        return None


def check_option_arguments(cfg, options: dict) -> None:
    """ConfigError for a ``--cfg-options`` key that adds an argument its object does not take.

    Only keys the config does not have yet are checked, where the enclosing dict names its
    ``type`` (a loop config without one: mmengine's default loop) and the class takes no
    ``**kwargs``.

    Args:
        cfg (Config): the config, before the options are merged.
        options (dict): ``--cfg-options`` as parsed by ``DictAction``.
    """
    scope = cfg.get('default_scope') or 'mmengine'
    tree = cfg.to_dict()
    for key, value in options.items():
        path = key.split('.')
        node = tree
        for part in path[:-1]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
                break
        if not isinstance(node, dict) or path[-1] in node or path[-1] == 'type':
            continue
        parent = [int(p) if p.isdigit() else p for p in path[:-1]]
        registry_name = _registry_for(parent)
        type_name = node.get('type')
        if registry_name == 'LOOPS' and type_name is None:  # Runner's default loops
            type_name = {'train_cfg': 'EpochBasedTrainLoop' if node.get('by_epoch', True) else
                         'IterBasedTrainLoop', 'val_cfg': 'ValLoop', 'test_cfg': 'TestLoop'}[path[0]]
            if path[0] == 'train_cfg' and path[-1] == 'by_epoch':
                continue
        if registry_name is None or not isinstance(type_name, str):
            continue
        obj = _lookup(scope, registry_name, type_name)
        arguments = _arguments(obj) if obj is not None else None
        if arguments is None or path[-1] in arguments:
            continue
        close = difflib.get_close_matches(path[-1], arguments, n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        raise ConfigError(
            f'--cfg-options {key}={value!r}: {type_name} takes no argument {path[-1]!r}{hint}; '
            f'it takes: {", ".join(a for a in arguments if not a.startswith("_"))}')


def check_dataloader_values(cfg, splits=('train', 'val', 'test')) -> None:
    """ConfigError for a ``batch_size`` below 1 or a negative ``num_workers`` (torch's DataLoader
    would refuse them only when the run builds it)."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, low in (('batch_size', 1), ('num_workers', 0)):
            value = loader.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                want = 'a positive int' if low == 1 else 'an int >= 0'
                raise ConfigError(f'{split}_dataloader.{key}={value!r}: must be {want}')


# What each launcher reads from the environment (torchrun, srun, mpirun set them).
_LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
                'start it with torchrun (tools/dist_train.sh CONFIG NPROC / tools/dist_test.sh), '
                'or leave out --launcher for one process'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
              'start it with srun (tools/slurm_train.sh), or leave out --launcher for one process'),
    'mpi': (('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK'),
            'start it with mpirun, or leave out --launcher for one process'),
}


def check_launcher_env(launcher: str) -> None:
    """ConfigError when ``--launcher`` is given without the variables its launcher sets."""
    if launcher not in _LAUNCHER_ENV:
        return
    names, how = _LAUNCHER_ENV[launcher]
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise ConfigError(f'--launcher {launcher} needs the environment variables its launcher sets; '
                          f'{", ".join(missing)} not set: {how}')
