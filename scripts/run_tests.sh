#!/usr/bin/env bash
# The test suite (README's test command). Extra arguments go to pytest, e.g. -k incremental.
# Where pytest-xdist is installed (requirements-dev.txt) the tests run in LITE_FAIRSEQ_TEST_WORKERS processes
# (default 2, one per core of the CI machine), one intra-op thread each; every test file stays on one worker
# (--dist loadfile), so a module's fixtures are built once, and tests/conftest.py builds the session's shared
# corpus and model once for both workers. LITE_FAIRSEQ_TEST_WORKERS=0, or no pytest-xdist: one process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers="${LITE_FAIRSEQ_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" != "0" ] && python -c "import xdist" 2>/dev/null; then
  parallel=(-n "$workers" --dist loadfile)
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
else
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
fi
python -m pytest -q --durations=15 "${parallel[@]}" "$@" tests
