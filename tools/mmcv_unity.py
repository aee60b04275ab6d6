"""Turn an unpacked mmcv sdist into a unity build of its CPU ops: ``python tools/mmcv_unity.py SDIST_DIR``.

Run by tools/install.sh before it builds mmcv's CPU flavour: a few translation units instead of 77
files, so torch's headers are parsed a few times instead of 77 (docs/install.md gives the minutes).
Prints the plan in one line; exit 1 with the reason when the sdist is not one this was made for (the
sdist is then unchanged and install.sh builds it file by file). The logic is
secvit_mm.utils.unity_build.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# By path, not `import secvit_mm...`: mmcv is not installed yet, and the package's __init__ checks it.
sys.path.insert(0, osp.join(ROOT, 'secvit_mm', 'utils'))
import unity_build  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sdist_dir', help='the unpacked mmcv source distribution (holds setup.py)')
    parser.add_argument('--units', type=int, default=4,
                        help='how many translation units to aim for (default 4; more where some files '
                             'define the same names)')
    args = parser.parse_args(argv)
    if args.units < 1:
        parser.error(f'--units must be at least 1, got {args.units}')
    try:
        plan = unity_build.apply_unity_build(args.sdist_dir, units=args.units)
    except ValueError as e:
        print(f'no unity build: {e}', file=sys.stderr)
        return 1
    print(f'unity build: {sum(map(len, plan))} files of CPU ops in {len(plan)} translation units '
          f'({", ".join(str(len(files)) for files in plan)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
