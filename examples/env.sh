# Sourced by the scripts of examples/<task>/: finds python and the plugin (the checkout these scripts live in, else the
# pip-installed lite_fairseq), sets thread counts, checks the fairseq commands are on PATH.
PYTHON="${PYTHON:-python}"
EXAMPLES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[1]:-${BASH_SOURCE[0]}}")" && pwd)"  # the folder of the script sourcing this
if [ -f "$EXAMPLES/../lite_fairseq/__init__.py" ]; then
  REPO="$(cd "$EXAMPLES/.." && pwd)"
  USER_DIR="$REPO/lite_fairseq"
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
else
  USER_DIR="$("$PYTHON" -c 'import lite_fairseq, os; print(os.path.dirname(lite_fairseq.__file__))')" || {
    echo "error: lite_fairseq is neither next to this script nor installed (pip install it first)" >&2; exit 1; }
fi
if [ -z "${OMP_NUM_THREADS:-}" ]; then
  cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  [ "$cores" -gt 8 ] && cores=8
  export OMP_NUM_THREADS="$cores"
fi
need_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "error: '$tool' not found on PATH; activate the environment the README installs" >&2; exit 1; }
  done
}
