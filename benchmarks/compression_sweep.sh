#!/usr/bin/env bash
# Compression sweep: for each sparsity, prune a trained checkpoint while fine-tuning it (--task translation_masked),
# compress it (8-bit + sparse storage), translate the test set from the compressed file and score it. Sparsity 0 is
# the control: the same fine-tuning without pruning, then 8-bit only, so that every compressed model is compared
# with a dense model that trained as long.
# SWEEP_PRUNE=gradual (default): gradual magnitude pruning during fine-tuning (--prune-target-sparsity, cubic
# schedule reaching the target at update SWEEP_PRUNE_END [60% of SWEEP_UPDATES], a step every SWEEP_PRUNE_FREQ
# [SWEEP_UPDATES/20] updates), then the remaining updates with the sparsity held. SWEEP_PRUNE=oneshot: prune once
# (lite-fairseq-compress prune) and fine-tune with the masks (--prune-masks).
#
#   bash benchmarks/compression_sweep.sh DATA_BIN CHECKPOINT OUT_DIR MODEL_OPTION...
#
# MODEL_OPTION...: the options that build the original model, as given to fairseq-train, e.g.
#   --arch lite_transformer_tiny --share-all-embeddings
# Knobs (environment): SWEEP_SPARSITIES ["0 0.5 0.6 0.7"]  SWEEP_UPDATES [300] fine-tuning updates
#   SWEEP_LR [0.0005]  SWEEP_WARMUP [50]  SWEEP_MAX_TOKENS [4096]  SWEEP_BEAM [4]  SWEEP_PRUNE_OPTS [] (e.g.
#   --no-prune-embeddings; --scope layer for oneshot, --prune-scope layer for gradual)  SWEEP_SEED [1]
#   SWEEP_ORIGINAL_BLEU: the original checkpoint's BLEU if already known (skips translating with it)
# Writes OUT_DIR/s<SPARSITY>/{pruned/,ft/,compressed.pt,size.json,generate.log} and prints one table:
# sparsity, bytes on disk, ratio to the fp32 checkpoint, BLEU (fairseq-generate --scoring sacrebleu on the text
# after --remove-bpe) of the original, the fine-tuned fp32 and the compressed model.
set -euo pipefail
DATA="${1:?usage: compression_sweep.sh DATA_BIN CHECKPOINT OUT_DIR MODEL_OPTION...}"
CKPT="${2:?usage: compression_sweep.sh DATA_BIN CHECKPOINT OUT_DIR MODEL_OPTION...}"
OUT="${3:?usage: compression_sweep.sh DATA_BIN CHECKPOINT OUT_DIR MODEL_OPTION...}"
shift 3
[ "$#" -gt 0 ] || { echo "error: give the original model's options, e.g. --arch lite_transformer_tiny --share-all-embeddings" >&2; exit 1; }
[ -f "$CKPT" ] || { echo "error: checkpoint $CKPT not found" >&2; exit 1; }
[ -d "$DATA" ] || { echo "error: data-bin directory $DATA not found" >&2; exit 1; }
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../examples" && pwd)/env.sh"
need_tools fairseq-train fairseq-generate lite-fairseq-compress
SPARSITIES="${SWEEP_SPARSITIES:-0 0.5 0.6 0.7}"
UPDATES="${SWEEP_UPDATES:-300}"
MODE="${SWEEP_PRUNE:-gradual}"
case "$MODE" in gradual|oneshot) ;; *) echo "error: SWEEP_PRUNE must be gradual or oneshot, got '$MODE'" >&2; exit 1;; esac
PRUNE_END="${SWEEP_PRUNE_END:-$(( UPDATES * 6 / 10 > 1 ? UPDATES * 6 / 10 : 1 ))}"
PRUNE_FREQ="${SWEEP_PRUNE_FREQ:-$(( UPDATES / 20 > 1 ? UPDATES / 20 : 1 ))}"
mkdir -p "$OUT"

bleu_of() {  # checkpoint, log -> BLEU score of the test set
  fairseq-generate "$DATA" --user-dir "$USER_DIR" --path "$1" --gen-subset test --beam "${SWEEP_BEAM:-4}" \
    --batch-size 250 --remove-bpe --scoring sacrebleu --num-workers 0 --cpu > "$2" 2>&1 \
    || { tail -n 20 "$2" >&2; exit 1; }
  grep -oE "BLEU = [0-9.]+" "$2" | tail -n 1 | cut -d' ' -f3
}

base_bleu="${SWEEP_ORIGINAL_BLEU:-$(bleu_of "$CKPT" "$OUT/original.generate.log")}"
rows=()
for s in $SPARSITIES; do
  dir="$OUT/s$s"; rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s)
  if [ "$MODE" = oneshot ] || [ "$s" = 0 ]; then
    # shellcheck disable=SC2086
    lite-fairseq-compress prune "$CKPT" --sparsity "$s" ${SWEEP_PRUNE_OPTS:-} --out-dir "$dir/pruned" > "$dir/prune.log"
    start_from=("--finetune-from-model" "$dir/pruned/pruned.pt" "--prune-masks" "$dir/pruned/masks.pt")
    keep=("--masks" "$dir/pruned/masks.pt")
  else
    # shellcheck disable=SC2206
    start_from=("--finetune-from-model" "$CKPT" "--prune-target-sparsity" "$s" "--prune-end-update" "$PRUNE_END"
                "--prune-frequency" "$PRUNE_FREQ" ${SWEEP_PRUNE_OPTS:-})
    keep=("--sparsity" "0")  # the zeros of the fine-tuned weights are the masks
  fi
  # shellcheck disable=SC2086
  fairseq-train "$DATA" --user-dir "$USER_DIR" "$@" --task translation_masked "${start_from[@]}" --save-dir "$dir/ft" \
    --optimizer adam --adam-betas '(0.9, 0.98)' --clip-norm 0.0 --lr "${SWEEP_LR:-0.0005}" \
    --lr-scheduler inverse_sqrt --warmup-updates "${SWEEP_WARMUP:-50}" --warmup-init-lr 1e-07 --dropout 0.1 \
    --weight-decay 0.0001 --criterion label_smoothed_cross_entropy --label-smoothing 0.1 \
    --max-tokens "${SWEEP_MAX_TOKENS:-4096}" --max-update "$UPDATES" --no-epoch-checkpoints --seed "${SWEEP_SEED:-1}" \
    --num-workers 0 --cpu --log-format simple --log-interval 50 > "$dir/train.log" 2>&1 \
    || { tail -n 30 "$dir/train.log" >&2; exit 1; }
  ft_bleu=$(bleu_of "$dir/ft/checkpoint_last.pt" "$dir/ft.generate.log")
  lite-fairseq-compress compress "$dir/ft/checkpoint_last.pt" "${keep[@]}" \
    -o "$dir/compressed.pt" --json "$dir/size.json" > "$dir/compress.log"
  comp_bleu=$(bleu_of "$dir/compressed.pt" "$dir/compressed.generate.log")
  read -r bytes ratio < <("$PYTHON" -c "
import json, os, sys
d = json.load(open(sys.argv[1]))
print(os.path.getsize(sys.argv[2]), d['disk_ratio'])" "$dir/size.json" "$dir/compressed.pt")
  rows+=("$(printf '%-9s %12s %8.2fx %10s %10s %12s %7ss' "$s" "$bytes" "$ratio" "$base_bleu" "$ft_bleu" "$comp_bleu" \
    $(( $(date +%s) - start )))")
  echo "sparsity $s done: ${rows[-1]}"
done
echo
echo "checkpoint $CKPT ($(stat -c %s "$CKPT") bytes with optimizer state), $UPDATES fine-tuning updates per row, $MODE pruning$([ "$MODE" = gradual ] && echo " (target reached at update $PRUNE_END, a step every $PRUNE_FREQ)")"
printf '%-9s %12s %9s %10s %10s %12s %8s\n' sparsity bytes ratio "BLEU orig" "BLEU ft" "BLEU compr" time
printf '%s\n' "${rows[@]}" | tee "$OUT/summary.txt"
