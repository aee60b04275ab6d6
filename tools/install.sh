#!/usr/bin/env bash
# Sets up a venv (default .venv/ in the repo root) with the verified OpenMMLab stack and secvit_mm (editable).
#
#   bash tools/install.sh [--with-tests] [--with-onnx] [--cpu | --cuda] [--dry-run]
#                         [--venv DIR] [--system-site-packages] [--keep-torch] [--wheels DIR] [--pypi-nvcc]
#
#   --cpu / --cuda          mmcv's ops flavour. Default: cuda when the venv's torch sees a GPU, else cpu.
#   --dry-run               print the plan (flavour, CUDA version, arch list, cache path, compile or not)
#                           and change nothing. `--cuda --dry-run` works without a GPU.
#   --with-tests            also the test requirements (pytest, hypothesis, onnx, ...)
#   --with-onnx             also the ONNX export requirements (requirements/onnx.txt)
#   --venv DIR              the venv to create or reuse (default: .venv in the repo root)
#   --system-site-packages  create the venv on top of the interpreter's packages (an existing torch)
#   --keep-torch            keep the torch / torchvision already importable instead of the pinned ones
#                           (an existing environment; its version must be in secvit_mm's supported range)
#   --wheels DIR            offline: no package index; installs every wheel in DIR (no dependency
#                           resolution) and compiles mmcv from the source in it (tools/make_wheelhouse.sh)
#   --pypi-nvcc             CUDA: take nvcc and headers from PyPI even when a matching nvcc is installed
#
# mmcv 2.1.0 ships only as source on PyPI and is compiled with its ops, without debug info (the CPU
# ops as a unity build: 4 translation units instead of 77 files), showing files done / total and the
# time left (docs/install.md gives the times and the machine; CUDA ops take longer). The built wheel
# is kept OUTSIDE the repo, keyed by torch version, Python tag and flavour (torch-2.14.1-cp311-cpu,
# torch-2.14.1-cp311-cu130-sm90): a torch version string is the same for CPU and CUDA builds, so
# without the flavour a CPU-only mmcv built on a login node would be reused on GPU nodes and fail at
# the first NMS on a CUDA tensor.
#   SECVIT_MM_CACHE        where built mmcv wheels live (default ~/.cache/secvit-mm)
#   SECVIT_MM_VENV         same as --venv
#   PYTHON                 interpreter used to create the venv (default python3)
#   MAX_JOBS               parallel compile jobs (default: all cores)
#   SECVIT_MM_UNITY=0      build mmcv's CPU ops file by file (mmcv's own source list) instead
#   TORCH_CUDA_ARCH_LIST   CUDA archs to build for (default: the visible GPUs', else torch's own list)
#   CUDA_HOME              a CUDA toolkit to use (its nvcc major version must match torch's CUDA)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SECVIT_MM_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
CACHE="${SECVIT_MM_CACHE:-$HOME/.cache/secvit-mm}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
TORCH_WHEEL_CUDA=13.0  # the PyPI wheel of torch 2.14.1 is +cu130 (used by --dry-run before torch is installed)
MMCV_VERSION=2.1.0
WITH_TESTS=0 WITH_ONNX=0 FLAVOUR=auto DRY_RUN=0 KEEP_TORCH=0 SYSTEM_SITE=0 WHEELS="" PYPI_NVCC=0

die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }
log() { printf '[install] %s\n' "$*"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with-tests) WITH_TESTS=1 ;;
    --with-onnx) WITH_ONNX=1 ;;
    --cpu) FLAVOUR=cpu ;;
    --cuda) FLAVOUR=cuda ;;
    --dry-run) DRY_RUN=1 ;;
    --keep-torch) KEEP_TORCH=1 ;;
    --system-site-packages) SYSTEM_SITE=1 ;;
    --pypi-nvcc) PYPI_NVCC=1 ;;
    --venv) [[ $# -ge 2 ]] || die "--venv needs a directory"; VENV="$(realpath -m "$2")"; shift ;;
    --wheels) [[ $# -ge 2 && -d "$2" ]] || die "--wheels needs an existing directory of wheels"
              WHEELS="$(realpath "$2")"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see: bash tools/install.sh --help)" ;;
  esac
  shift
done

start=$(date +%s)
VPY="$VENV/bin/python"
if [[ $DRY_RUN == 0 && ! -x "$VPY" ]]; then
  log "creating $VENV"
  if [[ $SYSTEM_SITE == 1 ]]; then "$PY" -m venv --system-site-packages "$VENV"; else "$PY" -m venv "$VENV"; fi
fi

# Constraints: with --keep-torch the environment's torch stays, so the torch pins are left out.
CONSTRAINTS="$ROOT/requirements/constraints.txt"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [[ $KEEP_TORCH == 1 ]]; then
  grep -v -E '^(torch|torchvision)==' "$ROOT/requirements/constraints.txt" > "$TMP/constraints.txt"
  CONSTRAINTS="$TMP/constraints.txt"
fi
PIP_SOURCE=()
[[ -n "$WHEELS" ]] && PIP_SOURCE=(--no-index --find-links "$WHEELS")
pip_install() { "$VPY" -m pip install --disable-pip-version-check -q "${PIP_SOURCE[@]}" -c "$CONSTRAINTS" "$@"; }

if [[ $DRY_RUN == 0 ]]; then
  [[ -z "$WHEELS" ]] && pip_install --upgrade "pip>=24,<26"
  if [[ $KEEP_TORCH == 0 ]]; then
    pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
  fi
  pip_install "setuptools<81" wheel ninja
fi

# ---------------------------------------------------------------------------------------------------
# What the environment holds: torch, its CUDA, the GPUs, the C++ standard its extensions need.
# ---------------------------------------------------------------------------------------------------
PROBE_PY="$VPY"
[[ -x "$PROBE_PY" ]] || PROBE_PY="$PY"
eval "$("$PROBE_PY" - <<'PY'
import shlex, sys
out = dict(PYTAG=f'cp{sys.version_info[0]}{sys.version_info[1]}', TORCH_FOUND='0', TORCH_VER='', TORCH_CUDA='',
           GPU_ARCHS='', TORCH_ARCHS='', CXX_STD='c++17')
try:
    import importlib.util
    import torch
    # read, not imported: importing cpp_extension looks for a CUDA toolkit and warns when it finds none
    ext_source = importlib.util.find_spec('torch.utils.cpp_extension').origin
except Exception:
    pass
else:
    out.update(TORCH_FOUND='1', TORCH_VER=torch.__version__.split('+')[0], TORCH_CUDA=torch.version.cuda or '')
    if torch.cuda.is_available():
        caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
        out['GPU_ARCHS'] = ';'.join(f'{a}.{b}' for a, b in caps)
    try:  # the archs this torch was built for; readable without a GPU
        flags = torch._C._cuda_getArchFlags().split() if out['TORCH_CUDA'] else []
        out['TORCH_ARCHS'] = ';'.join(f'{f[3:-1]}.{f[-1]}' for f in flags if f.startswith('sm_'))
    except Exception:
        pass
    # torch >= 2.10's headers need C++20; mmcv 2.1.0 hard-codes -std=c++17 (raised by the wrappers below)
    if '-std=c++20' in open(ext_source).read():
        out['CXX_STD'] = 'c++20'
print('\n'.join(f'{k}={shlex.quote(v)}' for k, v in out.items()))
PY
)"
TORCH_SOURCE="installed in $( [[ -x "$VPY" ]] && echo "$VENV" || echo "$PROBE_PY" )"
if [[ $TORCH_FOUND == 0 ]]; then
  [[ $DRY_RUN == 1 ]] || die "torch does not import in $VENV (with --keep-torch, the environment must have torch)"
  [[ $KEEP_TORCH == 1 ]] && die "--keep-torch: no torch importable with $PROBE_PY"
  TORCH_VER=$TORCH_VERSION TORCH_CUDA=$TORCH_WHEEL_CUDA CXX_STD=c++20 TORCH_SOURCE="pinned; venv not created yet"
fi

if [[ $FLAVOUR == auto ]]; then
  if [[ -n "$GPU_ARCHS" ]]; then FLAVOUR=cuda; FLAVOUR_WHY="a GPU is visible"
  else FLAVOUR=cpu; FLAVOUR_WHY="no GPU visible to torch"; fi
else
  FLAVOUR_WHY="--$FLAVOUR"
fi

# ---------------------------------------------------------------------------------------------------
# CUDA: version, arch list, compiler.
# ---------------------------------------------------------------------------------------------------
NVCC_PLAN="-" ARCH_LIST="-" KEY="cpu"
if [[ $FLAVOUR == cuda ]]; then
  [[ -n "$TORCH_CUDA" ]] || die "--cuda: torch $TORCH_VER ($TORCH_SOURCE) is a CPU-only build; install a CUDA build of torch or use --cpu"
  CUDA_MAJOR=${TORCH_CUDA%%.*}
  CUDA_TAG="cu${TORCH_CUDA//./}"
  if [[ -n "${TORCH_CUDA_ARCH_LIST:-}" ]]; then ARCH_LIST="$TORCH_CUDA_ARCH_LIST"; ARCH_WHY="TORCH_CUDA_ARCH_LIST"
  elif [[ -n "$GPU_ARCHS" ]]; then ARCH_LIST="$GPU_ARCHS"; ARCH_WHY="the visible GPUs"
  elif [[ -n "$TORCH_ARCHS" ]]; then ARCH_LIST="$TORCH_ARCHS"
    ARCH_WHY="torch's own list, no GPU visible; set TORCH_CUDA_ARCH_LIST (e.g. 9.0) to build fewer"
  else ARCH_LIST="9.0"; ARCH_WHY="default (H100/H200), no GPU visible; set TORCH_CUDA_ARCH_LIST for others"; fi
  arch_key=$(echo "$ARCH_LIST" | tr ' ;,' '\n\n\n' | sed '/^$/d; s/+PTX/ptx/; s/\.//' | paste -sd- -)
  KEY="$CUDA_TAG-sm$arch_key"

  # nvcc: $CUDA_HOME, then nvcc on the PATH, then /usr/local/cuda; its major version must match torch's.
  NVCC_HOME="" NVCC_REL=""
  nvcc_home_of() {  # the toolkit root of an nvcc (follows wrapper scripts: nvcc reports where it runs)
    local probe="$TMP/probe.cu"; : > "$probe"
    "$1" --dryrun -c "$probe" -o "$TMP/probe.o" 2>&1 | sed -n 's/^#\$ _HERE_=\(.*\)\/bin$/\1/p' | head -n1
  }
  if [[ $PYPI_NVCC == 0 ]]; then
    for cand in "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" "$(command -v nvcc || true)" /usr/local/cuda/bin/nvcc; do
      [[ -n "$cand" && -x "$cand" ]] || continue
      rel=$("$cand" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
      home=$(nvcc_home_of "$cand")
      if [[ "${rel%%.*}" == "$CUDA_MAJOR" && -n "$home" ]]; then NVCC_HOME="$home"; NVCC_REL="$rel"; break; fi
      log "ignoring $cand (CUDA $rel; torch $TORCH_VER needs CUDA $CUDA_MAJOR.x)"
    done
  fi
  if [[ -n "$NVCC_HOME" ]]; then
    NVCC_PLAN="$NVCC_HOME/bin/nvcc (CUDA $NVCC_REL)"
  else
    case "$CUDA_MAJOR" in
      13) NV_PKGS=(nvidia-cuda-nvcc nvidia-nvvm nvidia-cuda-crt nvidia-cuda-cccl nvidia-cuda-runtime) ;;
      12) NV_PKGS=(nvidia-cuda-nvcc-cu12 nvidia-cuda-cccl-cu12 nvidia-cuda-runtime-cu12) ;;
      *) die "no nvcc for CUDA $TORCH_CUDA found and no PyPI recipe for CUDA $CUDA_MAJOR: install the CUDA $TORCH_CUDA toolkit and set CUDA_HOME" ;;
    esac
    NV_SPECS=("${NV_PKGS[@]/%/==$TORCH_CUDA.*}")
    NVCC_PLAN="from PyPI into the venv: ${NV_SPECS[*]}"
  fi
fi

TORCH_KEY="torch-$TORCH_VER-$PYTAG-$KEY"
WHEEL_DIR="$CACHE/wheels/$TORCH_KEY"

# mmcv with ops of the right flavour (tools/check_mmcv_ops.py): the compiled ops load, report their CUDA
# build, and run nms and RoIAlign on a tensor of the flavour's device.
mmcv_check() { "$VPY" "$ROOT/tools/check_mmcv_ops.py" "$1" --version "$MMCV_VERSION"; }

MMCV_STATE=""
if [[ -x "$VPY" ]] && mmcv_check "$FLAVOUR" > "$TMP/check.log" 2>&1; then
  MMCV_STATE="installed and working: $(head -n1 "$TMP/check.log")"
else
  cached=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -n "$cached" ]]; then MMCV_STATE="would install the cached $cached"
  else MMCV_STATE="would compile mmcv $MMCV_VERSION ($FLAVOUR ops) and cache the wheel"; fi
fi

if [[ $DRY_RUN == 1 ]]; then
  cat <<EOF
[install] plan (dry run: nothing changed)
  venv          $VENV $( [[ -x "$VPY" ]] && echo "(exists)" || echo "(would be created)" )
  python        $PYTAG
  torch         $TORCH_VER, CUDA ${TORCH_CUDA:-none} ($TORCH_SOURCE)
  flavour       $FLAVOUR ($FLAVOUR_WHY)
  CUDA          $( [[ $FLAVOUR == cuda ]] && echo "$TORCH_CUDA ($CUDA_TAG)" || echo "-" )
  arch list     $ARCH_LIST$( [[ $FLAVOUR == cuda ]] && echo " ($ARCH_WHY)" )
  nvcc          $NVCC_PLAN
  C++ standard  $CXX_STD
  cache key     $TORCH_KEY
  cache path    $WHEEL_DIR
  mmcv          $MMCV_STATE
  pip source    $( [[ -n "$WHEELS" ]] && echo "offline: $WHEELS" || echo "package index" )
EOF
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# Build mmcv when neither the venv nor the cache has one of this flavour.
# ---------------------------------------------------------------------------------------------------
make_std_wrapper() {  # $1: wrapper path, $2: the compiler it runs, $3: flags added at the end of each call.
  # Raises mmcv's -std=c++14/17 to $CXX_STD.
  cat > "$1" <<SH
#!/usr/bin/env bash
args=()
for a in "\$@"; do
  case "\$a" in -std=c++14|-std=c++17|-std=gnu++14|-std=gnu++17) a=-std=$CXX_STD ;; esac
  args+=("\$a")
done
exec $2 "\${args[@]}" $3
SH
  chmod +x "$1"
}

pypi_cuda_home() {  # NVIDIA's compiler and headers from PyPI, assembled into one CUDA_HOME in the venv
  log "installing nvcc and headers for CUDA $TORCH_CUDA from PyPI: ${NV_SPECS[*]}"
  pip_install "${NV_SPECS[@]}"
  local site home="$VENV/cuda-$TORCH_CUDA"
  site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  local nvcc_bin
  nvcc_bin=$(ls "$site"/nvidia/*/bin/nvcc 2>/dev/null | head -n1)
  [[ -n "$nvcc_bin" ]] || die "nvcc not found under $site/nvidia after installing ${NV_SPECS[*]}"
  local top; top=$(dirname "$(dirname "$nvcc_bin")")
  rm -rf "$home" && mkdir -p "$home/include" "$home/lib64"
  ln -s "$top/bin" "$home/bin"
  local nvvm; nvvm=$(ls -d "$site"/nvidia/*/nvvm 2>/dev/null | head -n1)
  [[ -n "$nvvm" ]] || die "nvvm (cicc) not found under $site/nvidia: nvcc cannot compile without it"
  ln -s "$nvvm" "$home/nvvm"
  for inc in "$site"/nvidia/*/include; do cp -rsn "$inc/." "$home/include/"; done
  for lib in "$site"/nvidia/*/lib/libcudart.so*; do ln -sf "$lib" "$home/lib64/"; done
  local cudart; cudart=$(ls "$home"/lib64/libcudart.so.* 2>/dev/null | head -n1)
  [[ -n "$cudart" ]] || die "libcudart not found under $site/nvidia (torch's nvidia-cuda-runtime package)"
  ln -sf "$(basename "$cudart")" "$home/lib64/libcudart.so"
  NVCC_HOME="$home"
  NVCC_REL=$("$home/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
  log "CUDA_HOME=$home (nvcc $NVCC_REL)"
}

if [[ "$MMCV_STATE" == installed* ]]; then
  log "mmcv $MMCV_VERSION: $MMCV_STATE"
else
  wheel=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" ]]; then
    build_env=(MMCV_WITH_OPS=1 "MAX_JOBS=${MAX_JOBS:-$(nproc)}")
    # -g0: no debug info. Python's CFLAGS put -g in every g++ call of the build; writing the debug
    # info of torch's headers costs 40-60% of a file's compile time (docs/install.md) and makes
    # objects 30-70x larger, and no one debugs mmcv's ops from this wheel. The machine code is the
    # same (objdump -d), so the cache key stays. nvcc's host compiles get no -g from torch;
    # -Xcompiler -g0 keeps it so whatever MMCV_CUDA_ARGS or NVCC_APPEND_FLAGS say.
    make_std_wrapper "$TMP/cxx" g++ -g0
    build_env+=("CXX=$TMP/cxx")
    if [[ $FLAVOUR == cuda ]]; then
      [[ -n "$NVCC_HOME" ]] || pypi_cuda_home
      make_std_wrapper "$TMP/nvcc" "$NVCC_HOME/bin/nvcc" "-Xcompiler -g0"
      build_env+=(FORCE_CUDA=1 "CUDA_HOME=$NVCC_HOME" "PYTORCH_NVCC=$TMP/nvcc" "TORCH_CUDA_ARCH_LIST=$ARCH_LIST")
      log "compiling mmcv $MMCV_VERSION with CUDA $NVCC_REL ops for $ARCH_LIST against torch $TORCH_VER (long: tens of minutes on few cores)"
    else
      # mmcv's build takes the CUDA path whenever torch sees a GPU: hide the GPUs for a CPU-only build.
      build_env+=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=)
      log "compiling mmcv $MMCV_VERSION with CPU ops against torch $TORCH_VER (once per machine and flavour; progress below)"
    fi
    mkdir -p "$WHEEL_DIR" "$CACHE/logs"
    build_start=$(date +%s)  # the source's download counts: pip wheel mmcv==... downloads it too
    build_src="mmcv==$MMCV_VERSION"
    if [[ $FLAVOUR == cpu && "${SECVIT_MM_UNITY:-1}" != 0 ]]; then
      # Unity build: the 77 files of CPU ops as 4 translation units, torch's headers parsed 4 times
      # instead of 77 (tools/mmcv_unity.py; docs/install.md). The same ops and the same wheel
      # contents, so the cache key stays. CUDA builds keep mmcv's own source list.
      mkdir -p "$TMP/sdist"
      if out=$("$VPY" -m pip download --disable-pip-version-check -q --no-deps --no-binary=mmcv \
               --no-build-isolation "${PIP_SOURCE[@]}" -d "$TMP/sdist" "mmcv==$MMCV_VERSION" 2>&1) &&
         out=$(tar xzf "$TMP/sdist/mmcv-$MMCV_VERSION.tar.gz" -C "$TMP/sdist" 2>&1) &&
         out=$("$VPY" "$ROOT/tools/mmcv_unity.py" "$TMP/sdist/mmcv-$MMCV_VERSION" 2>&1); then
        build_src="$TMP/sdist/mmcv-$MMCV_VERSION"
        log "$out"
      else
        log "building file by file; no unity build: $(printf '%s\n' "$out" | tail -n1)"
      fi
    fi
    # $1: what pip builds (a requirement or a source directory). -v: ninja's [done/total] lines reach
    # the log, and tools/progress.py turns them into a status (files compiled, time so far, time
    # left) at least every 30 s.
    build_wheel() {
      build_log="$CACHE/logs/mmcv-$MMCV_VERSION-$TORCH_KEY-$(date +%Y%m%d-%H%M%S).log"
      log "the whole build output goes to $build_log"
      rm -rf "$TMP/out"
      env "${build_env[@]}" "$VPY" "$ROOT/tools/progress.py" build --log "$build_log" --prefix '[install]   ' -- \
        "$VPY" -m pip wheel --no-build-isolation --no-deps --no-cache-dir -v \
        "${PIP_SOURCE[@]}" -w "$TMP/out" "$1"
    }
    if ! build_wheel "$build_src"; then
      [[ "$build_src" == "mmcv==$MMCV_VERSION" ]] &&
        die "mmcv $MMCV_VERSION did not build (the error above; the whole output: $build_log)"
      log "the unity build failed (the error above; $build_log): building file by file"
      build_wheel "mmcv==$MMCV_VERSION" ||
        die "mmcv $MMCV_VERSION did not build (the error above; the whole output: $build_log)"
    fi
    # Move into place atomically so an interrupted build never leaves a broken cached wheel.
    built=$(ls "$TMP"/out/mmcv-*.whl)
    cp "$built" "$WHEEL_DIR/.partial.whl"
    mv "$WHEEL_DIR/.partial.whl" "$WHEEL_DIR/$(basename "$built")"
    wheel="$WHEEL_DIR/$(basename "$built")"
    log "built $wheel in $(( $(date +%s) - build_start )) s"
  else
    log "reusing cached $wheel"
  fi
  pip_install --no-deps --force-reinstall "$wheel"
fi

if [[ -n "$WHEELS" ]]; then
  # Offline: the folder is the plan (tools/make_wheelhouse.sh made it for this machine's environment);
  # each wheel goes in as it is, and the imports below say what is missing.
  pip_install --no-deps --no-compile "$WHEELS"/*.whl
else
  reqs=(-r "$ROOT/requirements/runtime.txt")
  if [[ $KEEP_TORCH == 1 ]]; then
    grep -v -E '^(torch|torchvision)==' "$ROOT/requirements/runtime.txt" > "$TMP/runtime.txt"
    reqs=(-r "$TMP/runtime.txt")
  fi
  [[ $WITH_TESTS == 1 ]] && reqs+=(-r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/onnx.txt")
  [[ $WITH_ONNX == 1 ]] && reqs+=(-r "$ROOT/requirements/onnx.txt")
  pip_install "${reqs[@]}"
fi
# PEP 660 editable install with this environment's setuptools: an older pip would otherwise run
# `setup.py develop`, whose nested pip builds in isolation and reaches for the index (offline: fails).
pip_install --no-deps --no-build-isolation --use-pep517 -e "$ROOT"
if ! mmcv_check "$FLAVOUR" > "$TMP/check.log" 2>&1; then
  cat "$TMP/check.log" >&2
  die "mmcv's ops failed the $FLAVOUR check after install (see above)"
fi
log "$(cat "$TMP/check.log")"
"$VPY" -c 'import secvit_mm, mmdet.apis, mmseg.apis, mmpretrain.apis' ||
  die "secvit_mm or an OpenMMLab package does not import in $VENV (see above)"
log "done in $(( $(date +%s) - start )) s: activate with 'source $VENV/bin/activate'"
