"""Dump every config's merged form, or compare the configs with such a dump (refactoring configs).

    python tools/dev/config_snapshot.py save DIR       # one JSON file per config
    python tools/dev/config_snapshot.py compare DIR    # exit 1 and the differing keys if any differs

A config's merged form is ``Config.fromfile(path).to_dict()``, written as JSON with sorted keys
(values JSON cannot hold, e.g. tuples' contents stay, other objects are written with ``repr``).
Configs: ``configs/*.py`` (the paper configs), ``configs/demo``, ``configs/custom`` and
``configs/ablations``; ``_base_`` pieces are not configs of their own. Run it from the repository
root with the checkout on ``PYTHONPATH``. It imports nothing of the project itself, so the same file
can snapshot another checkout (e.g. an untouched main: ``cd /work/main && PYTHONPATH=$PWD python
/path/to/config_snapshot.py save DIR``).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

from mmengine.config import Config

PATTERNS = ('configs/*.py', 'configs/demo/*.py', 'configs/custom/*.py', 'configs/ablations/*.py')


def config_paths() -> list:
    """The configs a snapshot holds, relative to the working directory, sorted."""
    return sorted(p for pattern in PATTERNS for p in glob.glob(pattern))


def merged(path: str) -> str:
    """The canonical JSON text of a config's merged form.

    Args:
        path (str): the config file.

    Returns:
        str: ``Config.fromfile(path).to_dict()`` as JSON, keys sorted, indented.
    """
    return json.dumps(Config.fromfile(path).to_dict(), sort_keys=True, indent=1, default=repr)


def _name(path: str) -> str:
    return path.replace('/', '__')[:-3] + '.json'


def _differences(old, new, prefix='') -> list:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f'{prefix}{key}: removed')
            elif key not in old:
                out.append(f'{prefix}{key}: added')
            else:
                out += _differences(old[key], new[key], f'{prefix}{key}.')
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, f'{prefix}{i}.')]
    return [] if old == new else [f'{prefix[:-1]}: {old!r} -> {new!r}']


def save(out_dir: str) -> int:
    """Write one JSON file per config into ``out_dir``; returns 0."""
    os.makedirs(out_dir, exist_ok=True)
    paths = config_paths()
    for path in paths:
        with open(osp.join(out_dir, _name(path)), 'w') as f:
            f.write(merged(path))
    print(f'saved {len(paths)} configs to {out_dir}')
    return 0


def compare(snapshot_dir: str) -> int:
    """Compare every config with its JSON file in ``snapshot_dir``; 1 if any differs or is missing."""
    if not osp.isdir(snapshot_dir):
        print(f'error: {snapshot_dir}: no such snapshot folder; make one with: save {snapshot_dir}', file=sys.stderr)
        return 2
    paths = config_paths()
    saved = {name for name in os.listdir(snapshot_dir) if name.endswith('.json')}
    bad = 0
    for path in paths:
        name = _name(path)
        if name not in saved:
            print(f'{path}: not in the snapshot')
            bad += 1
            continue
        with open(osp.join(snapshot_dir, name)) as f:
            old = json.load(f)
        diffs = _differences(old, json.loads(merged(path)))
        if diffs:
            bad += 1
            print(f'{path}: {len(diffs)} difference(s): ' + '; '.join(diffs[:8]))
    gone = sorted(saved - {_name(p) for p in paths})
    for name in gone:
        print(f'{name}: in the snapshot, no such config now')
    print(f'{len(paths) - bad} of {len(paths)} configs equal to the snapshot'
          + (f', {len(gone)} missing' if gone else ''))
    return 1 if bad or gone else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('action', choices=('save', 'compare'))
    parser.add_argument('dir', help='the snapshot folder')
    args = parser.parse_args(argv)
    return save(args.dir) if args.action == 'save' else compare(args.dir)


if __name__ == '__main__':
    sys.exit(main())
