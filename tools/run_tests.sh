#!/usr/bin/env bash
# Set everything up (tools/install.sh, idempotent) and run the test suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install.sh --with-tests
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
