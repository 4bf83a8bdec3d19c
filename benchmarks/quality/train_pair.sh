#!/usr/bin/env bash
# Train the two models of one Mult-Adds budget side by side (one process, one thread each), same recipe, same
# update budget and seed, then evaluate both on test.
#
#   bash benchmarks/quality/train_pair.sh BUDGET [SEED]     (BUDGET: 15M or 50M, see pairs.py)
#
# Environment: as train.sh and evaluate.sh (QUALITY_OUT, QUALITY_MAX_UPDATE, ...). Each process runs with
# OMP_NUM_THREADS=${QUALITY_THREADS:-1} under `nice -n ${QUALITY_NICE:-10}`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python}"
BUDGET="${1:?usage: train_pair.sh BUDGET [SEED]}"
SEED="${2:-1}"
WORK="${QUALITY_OUT:-work_dirs/quality}"
export OMP_NUM_THREADS="${QUALITY_THREADS:-1}" MKL_NUM_THREADS="${QUALITY_THREADS:-1}"
read -r -a MODELS <<< "$("$PYTHON" "$HERE/pairs.py" budget "$BUDGET")"
mkdir -p "$WORK/logs"
pids=()
for m in "${MODELS[@]}"; do
  nice -n "${QUALITY_NICE:-10}" bash "$HERE/train.sh" "$m" "$SEED" > "$WORK/logs/train.$m.s$SEED.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "error: training ${MODELS[$i]} failed (see $WORK/logs/train.${MODELS[$i]}.s$SEED.log)" >&2; status=1; }
done
[ "$status" -eq 0 ] || exit 1
cat "$WORK"/logs/train.*."s$SEED".log | grep '^trained' || true
for m in "${MODELS[@]}"; do
  nice -n "${QUALITY_NICE:-10}" bash "$HERE/evaluate.sh" "$m" "$SEED"
done
