#!/usr/bin/env bash
# The test suite (README's test command). Extra arguments go to pytest, e.g. -k incremental.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
python -m pytest -q --durations=15 "$@" tests
