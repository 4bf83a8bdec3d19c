#!/usr/bin/env bash
# Train one model of the quality benchmark (see pairs.py) with the recipe shared by every model.
#
#   bash benchmarks/quality/train.sh MODEL [SEED]        (MODEL: python benchmarks/quality/pairs.py list)
#
# Reads WORK_DIR/data-bin from prepare.sh (WORK_DIR: $QUALITY_OUT, default ./work_dirs/quality); writes
# WORK_DIR/runs/MODEL.sSEED/{train.log,checkpoints/,time.txt}.
# Recipe knobs (same for every model; chosen on valid, never on test):
#   QUALITY_MAX_UPDATE [800] updates   QUALITY_MAX_TOKENS [2048] tokens per batch   QUALITY_LR [0.001]
#   QUALITY_WARMUP [200]   QUALITY_DROPOUT [0.1]   QUALITY_STOP_MINUTES [40] wall-clock safety cap
#   QUALITY_EXTRA [] more fairseq-train options (e.g. --fp16 on a GPU; the default is --cpu unless QUALITY_GPU=1)
#   QUALITY_MODEL_ARGS [] the model's options (--arch ...) for a MODEL name that is not in pairs.py (the search
#     benchmark trains its found designs and matched baselines with this recipe)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python}"
MODEL="${1:?usage: train.sh MODEL [SEED]}"
SEED="${2:-1}"
WORK="${QUALITY_OUT:-work_dirs/quality}"
MAX_UPDATE="${QUALITY_MAX_UPDATE:-800}"
MAX_TOKENS="${QUALITY_MAX_TOKENS:-2048}"
LR="${QUALITY_LR:-0.001}"
WARMUP="${QUALITY_WARMUP:-200}"
DROPOUT="${QUALITY_DROPOUT:-0.1}"
STOP_MINUTES="${QUALITY_STOP_MINUTES:-40}"
DEVICE_OPT="--cpu"; [ "${QUALITY_GPU:-0}" = 1 ] && DEVICE_OPT=""
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

[ -f "$WORK/data-bin/dict.${QUALITY_SRC:-de}.txt" ] || {
  echo "error: $WORK/data-bin not found: run benchmarks/quality/prepare.sh first (same QUALITY_OUT)" >&2; exit 1; }
MODEL_ARGS="${QUALITY_MODEL_ARGS:-}"
[ -n "$MODEL_ARGS" ] || MODEL_ARGS=$("$PYTHON" "$HERE/pairs.py" args "$MODEL")
RUN="$WORK/runs/$MODEL.s$SEED"
rm -rf "$RUN"; mkdir -p "$RUN"
STOP_HOURS=$("$PYTHON" -c "print($STOP_MINUTES / 60)")
start=$(date +%s)
# shellcheck disable=SC2086
fairseq-train "$WORK/data-bin" --user-dir "$REPO/lite_fairseq" $MODEL_ARGS \
  --source-lang "${QUALITY_SRC:-de}" --target-lang "${QUALITY_TGT:-en}" \
  --optimizer adam --adam-betas '(0.9, 0.98)' --clip-norm 0.0 --weight-decay 0.0001 \
  --lr "$LR" --lr-scheduler inverse_sqrt --warmup-updates "$WARMUP" --warmup-init-lr 1e-07 \
  --dropout "$DROPOUT" --criterion label_smoothed_cross_entropy --label-smoothing 0.1 \
  --max-tokens "$MAX_TOKENS" --max-update "$MAX_UPDATE" --stop-time-hours "$STOP_HOURS" \
  --validate-interval-updates 200 --save-interval-updates 200 --keep-interval-updates 1 --no-epoch-checkpoints \
  --save-dir "$RUN/checkpoints" --seed "$SEED" --num-workers 0 $DEVICE_OPT ${QUALITY_EXTRA:-} \
  --log-format simple --log-interval 50 > "$RUN/train.log" 2>&1 || { tail -n 30 "$RUN/train.log" >&2; exit 1; }
end=$(date +%s)
printf 'wall_s=%s\nseed=%s\nmodel=%s\nmax_update=%s\nmax_tokens=%s\nlr=%s\nwarmup=%s\ndropout=%s\n' \
  $((end - start)) "$SEED" "$MODEL" "$MAX_UPDATE" "$MAX_TOKENS" "$LR" "$WARMUP" "$DROPOUT" > "$RUN/time.txt"
echo "trained $MODEL seed $SEED in $((end - start)) s ($RUN)"
