"""``--cfg-options`` that would change nothing."""
from mmengine.config import Config

from secvit_mm.errors import ConfigOptionError

__all__ = ['check_copied_options']


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


