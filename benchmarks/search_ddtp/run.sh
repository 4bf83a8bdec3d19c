#!/usr/bin/env bash
# The hardware-aware search on a real corpus, end to end (issue: HAT over LSRA, result on DDTP German-English):
# train the SuperTransformer, measure latencies here and fit the predictor, search at two latency limits, scale the
# hand-designed Lite preset and fairseq's Transformer to the same measured latency, train the three designs of
# each limit from scratch with one recipe and several seeds, score test BLEU, and summarise (latency measured side
# by side, BLEU, Mult-Adds, parameters, the search's CPU hours, a latency-vs-BLEU plot).
#
#   bash benchmarks/search_ddtp/run.sh [RAW_DIR]
#
# RAW_DIR (or $QUALITY_RAW): raw {train,valid,test}.{de,en}; default ../shared/data/ddtp-de-en beside the
# repository root (see benchmarks/quality/prepare.sh, which this reuses, as it reuses train.sh and evaluate.sh).
# Everything goes to $SEARCH_OUT (default work_dirs/search_ddtp): summary.md and latency_bleu.png at the end.
# Run it again to resume: finished steps are skipped, an interrupted SuperTransformer training resumes (the CPU
# seconds of a killed step are not counted). Time the latencies on a quiet machine: the predictor learns them.
# Knobs (defaults are the full experiment: several CPU hours on 2 cores):
#   SEARCH_SUPER_UPDATES [3000]  SuperTransformer updates     SEARCH_SUPER_TOKENS [2048] its tokens per batch
#   SEARCH_SAMPLES [150]  designs timed for the predictor    SEARCH_REPEATS [5]  timed runs per design
#   SEARCH_LIMITS [auto]  latency limits in ms, e.g. "40 60"; auto: the 50% and 80% quantiles of the measured
#                         designs' latencies (what this device makes of the space; a baseline that cannot be
#                         made that fast by its width alone stops the run: then set the limits, or the layers)
#   SEARCH_EVOLVE ["--population 40 --parents 10 --mutations 15 --crossovers 15 --iterations 10 --valid-batches 5"]
#   SEARCH_SEEDS ["1 2"]  seeds of the from-scratch trainings  QUALITY_MAX_UPDATE [2400] their updates (train.sh)
#   SEARCH_LITE_ARCH / SEARCH_LITE_SET, SEARCH_TRANSFORMER_ARCH / SEARCH_TRANSFORMER_SET: the baselines, scaled in
#     width by `lite-fairseq-search match` (defaults: the quality benchmark's 3+3-layer Lite and Transformer)
#   SEARCH_MIN_WIDTH [32] / SEARCH_MAX_WIDTH [1024]: the widths the baselines are matched within
#   SEARCH_NICE [10]  PYTHON [python]; the recipe's knobs are train.sh's (QUALITY_LR, QUALITY_MAX_TOKENS, ...)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QUALITY="$HERE/../quality"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
WORK="${SEARCH_OUT:-work_dirs/search_ddtp}"
SUPER_UPDATES="${SEARCH_SUPER_UPDATES:-3000}"
SUPER_TOKENS="${SEARCH_SUPER_TOKENS:-2048}"
SAMPLES="${SEARCH_SAMPLES:-150}"
REPEATS="${SEARCH_REPEATS:-5}"
LIMITS="${SEARCH_LIMITS:-auto}"
EVOLVE="${SEARCH_EVOLVE:---population 40 --parents 10 --mutations 15 --crossovers 15 --iterations 10 --valid-batches 5}"
SEEDS="${SEARCH_SEEDS:-1 2}"
LITE_ARCH="${SEARCH_LITE_ARCH:-lite_transformer_iwslt_de_en_160}"
LITE_SET="${SEARCH_LITE_SET:---encoder-layers 3 --decoder-layers 3 --encoder-kernel-size-list [3,7,15] --decoder-kernel-size-list [3,7,15] --share-decoder-input-output-embed}"
TR_ARCH="${SEARCH_TRANSFORMER_ARCH:-transformer_paper_iwslt_128}"
TR_SET="${SEARCH_TRANSFORMER_SET:---encoder-layers 3 --decoder-layers 3 --share-decoder-input-output-embed}"
NICE="${SEARCH_NICE:-10}"
TIMED=("$PYTHON" "$HERE/summarise.py" timed)  # runs a command, adds its CPU seconds to a file
START=$(date +%s)
step() { printf '\n==> [%6ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
case "$LIMITS" in
  auto) ;;
  *) for l in $LIMITS; do
       [[ "$l" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "error: SEARCH_LIMITS: '$l' is not a number of ms" >&2; exit 1; }
     done ;;
esac
mkdir -p "$WORK/cost"
WORK="$(cd "$WORK" && pwd)"
export QUALITY_OUT="$WORK" QUALITY_MAX_UPDATE="${QUALITY_MAX_UPDATE:-2400}"
DATA="$WORK/data-bin"

step "prepare the corpus (sacremoses, subword-nmt BPE, fairseq-preprocess)"
[ -f "$DATA/dict.de.txt" ] || bash "$QUALITY/prepare.sh" "${1:-${QUALITY_RAW:-}}" "$WORK"

step "train the SuperTransformer ($SUPER_UPDATES updates)"
if [ ! -f "$WORK/super/done" ]; then  # an interrupted training resumes from its checkpoint_last.pt
  # shellcheck disable=SC2086
  nice -n "$NICE" "${TIMED[@]}" "$WORK/cost/super.cpu" -- fairseq-train "$DATA" --user-dir "$REPO/lite_fairseq" \
    --arch lite_supertransformer_ddtp --source-lang de --target-lang en \
    --optimizer adam --adam-betas '(0.9, 0.98)' --lr 0.001 --lr-scheduler inverse_sqrt --warmup-updates 200 \
    --warmup-init-lr 1e-07 --criterion label_smoothed_cross_entropy --label-smoothing 0.1 --weight-decay 0.0001 \
    --max-tokens "$SUPER_TOKENS" --max-update "$SUPER_UPDATES" --save-dir "$WORK/super" --no-epoch-checkpoints \
    --save-interval-updates 500 --keep-interval-updates 1 --validate-interval-updates 500 --num-workers 0 --cpu \
    --seed 1 --log-format simple --log-interval 50 >> "$WORK/super.log" 2>&1 \
    || { tail -n 30 "$WORK/super.log" >&2; exit 1; }
  touch "$WORK/super/done"
fi

step "measure $SAMPLES designs here and fit the latency predictor"
if [ ! -f "$WORK/lat.pt" ]; then
  nice -n "$NICE" "${TIMED[@]}" "$WORK/cost/latency.cpu" -- lite-fairseq-search latency --data "$DATA" \
    --samples "$SAMPLES" --repeats "$REPEATS" --warmup 2 --threads 1 --cpu-time --out "$WORK/lat.json" \
    > "$WORK/latency.log" 2>&1 || { tail -n 20 "$WORK/latency.log" >&2; exit 1; }
fi
[ "$LIMITS" = auto ] && LIMITS=$("$PYTHON" "$HERE/summarise.py" limits "$WORK/lat.json")
echo "latency limits: $LIMITS ms"

for limit in $LIMITS; do
  L="$WORK/limit_$limit"; mkdir -p "$L"
  step "limit $limit ms: evolutionary search, then the baselines scaled to the same measured latency"
  if [ ! -f "$L/winner.report.json" ]; then
    # shellcheck disable=SC2086
    nice -n "$NICE" "${TIMED[@]}" "$WORK/cost/search.cpu" -- lite-fairseq-search evolve "$DATA" \
      --super "$WORK/super/checkpoint_last.pt" --predictor "$WORK/lat.pt" --latency-limit "$limit" $EVOLVE \
      --out "$L/winner.json" --report "$L/winner.report.json" > "$L/evolve.log" 2>&1 \
      || { tail -n 20 "$L/evolve.log" >&2; exit 1; }
  fi
  for base in lite transformer; do
    if [ "$base" = lite ]; then arch="$LITE_ARCH"; set="$LITE_SET"; else arch="$TR_ARCH"; set="$TR_SET"; fi
    [ -f "$L/$base.match.json" ] || nice -n "$NICE" lite-fairseq-search match --arch "$arch" --set "$set" \
      --latency "$limit" --like "$WORK/lat.pt" --data "$DATA" --min-width "${SEARCH_MIN_WIDTH:-32}" \
      --max-width "${SEARCH_MAX_WIDTH:-1024}" --out "$L/$base.match.json" > "$L/$base.match.log" 2>&1 \
      || { tail -n 5 "$L/$base.match.log" >&2; exit 1; }
  done
  for seed in $SEEDS; do
    for model in found lite transformer; do
      name="l${limit}_$model"
      [ -f "$WORK/runs/$name.s$seed/bleu.json" ] && continue
      QUALITY_MODEL_ARGS="$("$PYTHON" "$HERE/summarise.py" args "$L" "$model")" \
        nice -n "$NICE" bash "$QUALITY/train.sh" "$name" "$seed"
      nice -n "$NICE" bash "$QUALITY/evaluate.sh" "$name" "$seed"
    done
  done
done

step "summarise: the designs of each limit timed side by side, BLEU, cost"
nice -n "$NICE" "$PYTHON" "$HERE/summarise.py" report --work "$WORK" --limits "$LIMITS" --seeds "$SEEDS" \
  --out "$WORK/summary.md" --png "$WORK/latency_bleu.png"
step "done: $WORK/summary.md"
