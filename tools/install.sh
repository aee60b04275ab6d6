#!/usr/bin/env bash
# Sets up .venv/ in the repo root with the pinned OpenMMLab stack and secvit_mm (editable).
#
# mmcv 2.1.0 ships only as source on PyPI and must be compiled with its ops (~13 min on 2 cores).
# The built wheel is kept OUTSIDE the repo, keyed by the torch version, so a warm machine reuses it
# and a machine with another torch never picks up a wheel built against the wrong ABI.
#   SECVIT_MM_CACHE   where the built mmcv wheel lives (default ~/.cache/secvit-mm)
#   PYTHON            interpreter used to create the venv (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
CACHE="${SECVIT_MM_CACHE:-$HOME/.cache/secvit-mm}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
WITH_TESTS=0
[[ "${1:-}" == "--with-tests" ]] && WITH_TESTS=1

log() { printf '[install] %s\n' "$*"; }
start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_install() { "$VPY" -m pip install --disable-pip-version-check -q -c "$ROOT/requirements/constraints.txt" "$@"; }

pip_install --upgrade "pip>=24,<26"
pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
pip_install "setuptools<81" wheel ninja

# The wheel cache is keyed by the torch version AND the Python tag (both change the mmcv ABI).
PYTAG=$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_DIR="$CACHE/wheels/torch-$TORCH_VERSION-$PYTAG"
mmcv_ok() { "$VPY" - <<'PY' 2>/dev/null
import mmcv, mmcv.ops  # noqa: F401  (the compiled ops must load, not just the Python part)
from mmcv.ops import nms
assert mmcv.__version__ == "2.1.0"
PY
}
if mmcv_ok; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  wheel=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" ]]; then
    log "compiling mmcv $MMCV_VERSION with ops against torch $TORCH_VERSION (about 13 minutes)"
    mkdir -p "$WHEEL_DIR"
    build_tmp=$(mktemp -d)
    # torch 2.14 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17: the wrapper upgrades the flag.
    cat > "$build_tmp/cxx20" <<'SH'
#!/usr/bin/env bash
args=()
for a in "$@"; do
  case "$a" in -std=c++14|-std=c++17|-std=gnu++14|-std=gnu++17) a=-std=c++20 ;; esac
  args+=("$a")
done
exec g++ "${args[@]}"
SH
    chmod +x "$build_tmp/cxx20"
    CXX="$build_tmp/cxx20" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" \
      "$VPY" -m pip wheel --no-build-isolation --no-deps --no-cache-dir -q \
      -w "$build_tmp/out" "mmcv==$MMCV_VERSION"
    # Move into place atomically so an interrupted build never leaves a broken cached wheel.
    built=$(ls "$build_tmp"/out/mmcv-*.whl)
    cp "$built" "$WHEEL_DIR/.partial.whl"
    mv "$WHEEL_DIR/.partial.whl" "$WHEEL_DIR/$(basename "$built")"
    rm -rf "$build_tmp"
    wheel="$WHEEL_DIR/$(basename "$built")"
  else
    log "reusing cached $wheel"
  fi
  pip_install --no-deps --force-reinstall "$wheel"
fi

pip_install -r "$ROOT/requirements/runtime.txt"
if [[ $WITH_TESTS == 1 ]]; then
  pip_install -r "$ROOT/requirements/tests.txt"
fi
pip_install --no-deps --no-build-isolation -e "$ROOT"
mmcv_ok || { echo "mmcv ops failed to load after install" >&2; exit 1; }
log "done in $(( $(date +%s) - start )) s: activate with 'source .venv/bin/activate'"
