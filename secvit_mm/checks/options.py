"""``--cfg-options`` that would change nothing, or add an argument its object does not take."""
import difflib
import inspect
from typing import Optional

from mmengine.config import Config

from secvit_mm.errors import ConfigError, ConfigOptionError

__all__ = ['check_copied_options', 'check_option_arguments']


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

    Args:
        cfg (Config): the config as read, before the options are merged.
        options (dict): the ``--cfg-options`` key/values.
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
        if arguments is not None and type_name == 'OptimWrapper':  # --amp makes it AmpOptimWrapper later
            amp = _lookup(scope, registry_name, 'AmpOptimWrapper')
            params = inspect.signature(amp.__init__).parameters.items() if amp else ()
            arguments = arguments + [n for n, p in params if n != 'self' and p.kind in
                                     (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if arguments is None or path[-1] in arguments:
            continue
        close = difflib.get_close_matches(path[-1], arguments, n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        raise ConfigError(
            f'--cfg-options {key}={value!r}: {type_name} takes no argument {path[-1]!r}{hint}; '
            f'it takes: {", ".join(a for a in arguments if not a.startswith("_"))}')
