#!/usr/bin/env bash
# Makes the folder of wheels (and the mmcv source) that tools/device_check.sh installs from on a GPU
# machine without network. Run it on a machine with a package index, after tools/install.sh:
#
#   bash tools/make_wheelhouse.sh [DIR] [--python-version 3.12]     (default DIR: wheelhouse/, ignored by git)
#
# The list is requirements/wheelhouse.txt (fetched with --no-deps, binary wheels for the target Python
# on manylinux x86_64) plus mmcv's source distribution. The folder must stay small enough to travel with
# the working tree (under 64 MiB): its size is printed and checked.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/wheelhouse" PYVER=3.12 LIMIT_MB=64
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python-version) PYVER="$2"; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 1 ;;
    *) DIR="$1" ;;
  esac
  shift
done
VPY="$ROOT/.venv/bin/python"
[[ -x "$VPY" ]] || { echo "run bash tools/install.sh first (mmcv's source build needs torch to describe itself)" >&2; exit 1; }
mkdir -p "$DIR"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
grep -v -E '^\s*(#|$)' "$ROOT/requirements/wheelhouse.txt" > "$DIR/.list"
"$VPY" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
  --python-version "$PYVER" --implementation cp "${platforms[@]}" -d "$DIR" -r "$DIR/.list"
rm -f "$DIR/.list"
# mmcv 2.1.0 ships as source only; its setup.py imports torch to describe itself, hence the venv's python.
"$VPY" -m pip download --disable-pip-version-check -q --no-deps --no-binary=mmcv --no-build-isolation \
  -d "$DIR" "mmcv==2.1.0"
size_mb=$(du -sm "$DIR" | cut -f1)
echo "[wheelhouse] $(ls "$DIR" | wc -l) files, ${size_mb} MB in $DIR (Python $PYVER)"
(( size_mb < LIMIT_MB )) || { echo "[wheelhouse] over ${LIMIT_MB} MB: too large to travel" >&2; exit 1; }
