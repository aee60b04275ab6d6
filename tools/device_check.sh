#!/usr/bin/env bash
# One GPU check for a bare GPU machine with no network and its own python3 + CUDA torch + nvcc:
#
#   bash tools/make_wheelhouse.sh                 # beforehand, on a machine with a package index
#   bash tools/device_check.sh [WHEELHOUSE] [REPORT.md]      # then, on the GPU machine
#
# 1. installs the OpenMMLab packages and their missing dependencies from WHEELHOUSE (default
#    wheelhouse/) into python3's environment, keeping its torch, and compiles mmcv with CUDA ops for the
#    visible GPU with all cores (tools/install.sh --keep-torch --cuda --wheels);
# 2. runs the tests marked `cuda`;
# 3. runs the GPU benchmark (tools/benchmark.py --gpu: 800x1333 batch 2, fwd+bwd, fp32 / fp16 / bf16
#    autocast, the released algorithm, SecViT-T paper mode and cluster_size=98, Swin-T; one Mask R-CNN
#    step of SecViT-T and Swin-T);
# and writes one markdown report (default: $OUT/gpu.md where $OUT is set, else docs/gpu.md), with the
# logs beside it. Each step has a time limit, so that the whole check ends inside 10 minutes on a
# 16-core machine with one H200; a step that runs out of time is reported as such.
# FLAVOUR=cpu tries the check's own steps on a machine without a GPU (its CUDA tests then skip).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WHEELS="$(realpath "${1:-wheelhouse}")"
REPORT="${2:-${OUT:+$OUT/gpu.md}}"
REPORT="${REPORT:-docs/gpu.md}"
LOGS="$(dirname "$REPORT")/gpu_logs"
mkdir -p "$LOGS"
PY3="${PYTHON:-python3}"
INSTALL_S="${INSTALL_S:-360}" TESTS_S="${TESTS_S:-150}" BENCH_S="${BENCH_S:-150}"
[[ -d "$WHEELS" ]] || { echo "no wheel folder $WHEELS: make it with bash tools/make_wheelhouse.sh" >&2; exit 1; }

start=$(date +%s)
step() {  # step NAME SECONDS CMD...: runs CMD with a time limit, log in $LOGS/NAME.log; sets RC_NAME, S_NAME
  local name=$1 limit=$2; shift 2
  local t0; t0=$(date +%s)
  echo "== $name (limit ${limit} s): $*"
  timeout --signal=TERM --kill-after=10 "$limit" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  printf -v "RC_$name" '%s' "$rc"
  printf -v "S_$name" '%s' "$(( $(date +%s) - t0 ))"
  echo "   exit $rc after $(( $(date +%s) - t0 )) s; last lines:"
  tail -n 5 "$LOGS/$name.log" | sed 's/^/   | /'
}

VENV="$("$PY3" -c 'import sys; print(sys.prefix)')"
step install "$INSTALL_S" env MAX_JOBS="$(nproc)" bash tools/install.sh --venv "$VENV" --keep-torch "--${FLAVOUR:-cuda}" --wheels "$WHEELS"
VPY="$VENV/bin/python"
[[ -x "$VPY" ]] || VPY="$PY3"
if [[ $RC_install == 0 ]]; then
  step tests "$TESTS_S" "$VPY" -m pytest tests -m cuda -q -p no:cacheprovider -rs
  step bench "$BENCH_S" "$VPY" tools/benchmark.py --gpu --repeats 3 --out "$LOGS/benchmark.json"
else
  RC_tests=skipped RC_bench=skipped S_tests=0 S_bench=0
fi

outcome() { case "$1" in 0) echo "passed" ;; 124|137) echo "TIMED OUT" ;; skipped) echo "not run (install failed)" ;; *) echo "FAILED (exit $1)" ;; esac; }
{
  echo "# GPU check"
  echo
  echo "Made by \`bash tools/device_check.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), in $(( $(date +%s) - start )) s."
  echo
  echo "## Machine"
  echo '```'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -n 4
  echo "cores: $(nproc); $("$VPY" -c 'import sys, torch; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, GPU visible: {torch.cuda.is_available()}")' 2>&1 | tail -n1)"
  echo "nvcc: $(nvcc --version 2>/dev/null | sed -n 's/.*release/release/p' || echo 'not on PATH')"
  echo '```'
  echo
  echo "## Steps"
  echo "| step | outcome | seconds |"
  echo "|---|---|---:|"
  echo "| install + mmcv CUDA build | $(outcome "$RC_install") | $S_install |"
  echo "| \`pytest -m cuda\` | $(outcome "$RC_tests") | $S_tests |"
  echo "| benchmark | $(outcome "$RC_bench") | $S_bench |"
  echo
  echo "## Install"
  echo '```'
  grep -E '^\[install\]' "$LOGS/install.log" | grep -v '^\[install\] creating' | tail -n 12
  echo '```'
  echo
  echo "## CUDA tests"
  echo '```'
  if [[ -f "$LOGS/tests.log" ]]; then grep -E '^(FAILED|ERROR|SKIPPED)|passed|failed' "$LOGS/tests.log" | tail -n 30; fi
  echo '```'
  echo
  echo "## Benchmark"
  if [[ -f "$LOGS/bench.log" ]]; then grep -E '^(GPU|CPU|\|)|^$' "$LOGS/bench.log" | sed '/^$/N;/^\n$/D'; fi
  echo
  echo "Logs: \`$(basename "$LOGS")/\` (install.log, tests.log, bench.log, benchmark.json)."
} > "$REPORT"
echo "report: $REPORT"
[[ $RC_install == 0 && $RC_tests == 0 && $RC_bench == 0 ]]
