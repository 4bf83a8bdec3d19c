#!/usr/bin/env bash
# The whole quality benchmark: prepare, count Mult-Adds, train and evaluate each budget's pair, draw attention
# maps, summarise into benchmarks/RESULTS.md and benchmarks/quality/tradeoff.png.
#
#   bash benchmarks/quality/run_all.sh [RAW_DIR]
#
# RAW_DIR (or $QUALITY_RAW; default ../shared/data/ddtp-de-en beside the repository root, see prepare.sh) holds
# raw {train,valid,test}.{SRC,TGT}; set QUALITY_SRC/QUALITY_TGT for other languages.
# QUALITY_SEEDS [1] seeds to run (e.g. "1 2 3"); QUALITY_BUDGETS [15M 50M]; other knobs: prepare.sh, train.sh,
# evaluate.sh; QUALITY_RESULTS / QUALITY_PNG [benchmarks/RESULTS.md, benchmarks/quality/tradeoff.png] where the
# summary goes. On a GPU: QUALITY_GPU=1 QUALITY_EXTRA=--fp16 (or --bf16).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python}"
export QUALITY_OUT="${QUALITY_OUT:-work_dirs/quality}"
START=$(date +%s)
step() { printf '\n==> [%5ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

step "prepare"
bash "$HERE/prepare.sh" "${1:-${QUALITY_RAW:-}}" "$QUALITY_OUT"  # empty: prepare.sh's default
step "Mult-Adds of the pairs (lite_fairseq profiler, 30/30 tokens)"
"$PYTHON" "$HERE/pairs.py" profile --data "$QUALITY_OUT/data-bin" --out "$QUALITY_OUT/profile.json"
for seed in ${QUALITY_SEEDS:-1}; do
  for budget in ${QUALITY_BUDGETS:-15M 50M}; do
    step "budget $budget, seed $seed: train both models side by side, then evaluate"
    bash "$HERE/train_pair.sh" "$budget" "$seed"
  done
done
step "attention maps and diagonal mass"
bash "$HERE/attention.sh"
step "summarise"
"$PYTHON" "$HERE/summarise.py" --work "$QUALITY_OUT" --results "${QUALITY_RESULTS:-$HERE/../RESULTS.md}" \
  --png "${QUALITY_PNG:-$HERE/tradeoff.png}"
step "done"
