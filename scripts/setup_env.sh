#!/usr/bin/env bash
# Create (or reuse) a virtual environment and install lite_fairseq with pinned dependencies.
#   bash scripts/setup_env.sh [VENV_DIR]       (default: .venv in the repository root)
# Set LITE_FAIRSEQ_DEV=0 to skip the test dependencies, LITE_FAIRSEQ_DEPLOY=0 to skip the deployment runtimes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"
python="${PYTHON:-python3}"
start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
# One resolver pass over every pinned list (not one pip run per file). pip byte-compiles what it installs: without
# it the first command a user runs compiles fairseq there and prints fairseq's SyntaxWarnings (invalid escapes).
pip=("$venv/bin/python" -m pip --disable-pip-version-check install -q)
lists=(-r "$root/requirements.txt")
echo "[setup] installing pinned dependencies (requirements.txt)"
if [ "${LITE_FAIRSEQ_DEV:-1}" != "0" ]; then
  echo "[setup]   and the test dependencies (requirements-dev.txt)"
  lists+=(-r "$root/requirements-dev.txt")
fi
if [ "${LITE_FAIRSEQ_DEPLOY:-1}" != "0" ]; then
  echo "[setup]   and the deployment runtimes (requirements-deploy.txt: ONNX Runtime, ExecuTorch)"
  lists+=(-r "$root/requirements-deploy.txt")
fi
"${pip[@]}" "${lists[@]}"
echo "[setup] installing fairseq without its dependency list (requirements-fairseq.txt) and lite_fairseq (editable)"
"${pip[@]}" --no-deps --no-build-isolation -r "$root/requirements-fairseq.txt" -e "$root"
if "$venv/bin/python" -c "import torchaudio" 2>/dev/null; then
  echo "[setup] error: torchaudio got installed; it has no build for torch 2.13" >&2
  exit 1
fi
"$venv/bin/python" -c "import torch, fairseq, lite_fairseq; print('[setup] torch', torch.__version__, '| fairseq', fairseq.__version__, '| lite_fairseq', lite_fairseq.__version__)"
echo "[setup] done in $(( $(date +%s) - start ))s; activate with: source $venv/bin/activate"
