#!/usr/bin/env bash
# Train a language model on binarised WikiText-103 with the paper's schedule (the authors' config
# configs/wikitext-103/attention/multibranch_v2/embed896.yml, written for fairseq 0.12's option names):
# NAG, cosine schedule with 16k warmup from 1e-7 to lr 1.0, first period 270k updates, t-mult 2, shrink 0.75,
# floor 1e-4, 286k updates, clip-norm 0.1, adaptive_loss, blocks of 3072 tokens (--sample-break-mode none),
# 3072 tokens per GPU with --update-freq 3 on 8 GPUs (use UPDATE_FREQ=24 on one GPU for the same batch).
#
#   bash examples/wikitext103/train.sh DATA_BIN SAVE_DIR [more fairseq-train options...]
#
# ARCH [lite_transformer_lm_wiki103]: also lite_transformer_lm_wiki103_small, or the baseline
#      transformer_lm_paper_wiki103 (fairseq's transformer_lm). UPDATE_FREQ [3].
# Options after SAVE_DIR are appended, so they override the schedule (e.g. --max-update 1000 --cpu).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-train
[ $# -ge 2 ] || { echo "usage: $0 DATA_BIN SAVE_DIR [fairseq-train options...]" >&2; exit 2; }
DATA="$1"; SAVE="$2"; shift 2
[ -f "$DATA/dict.txt" ] || { echo "error: $DATA/dict.txt not found; run prepare.sh first" >&2; exit 1; }
ARCH="${ARCH:-lite_transformer_lm_wiki103}"

fairseq-train "$DATA" --user-dir "$USER_DIR" --task language_modeling --arch "$ARCH" --save-dir "$SAVE" \
  --max-update 286000 --optimizer nag --clip-norm 0.1 \
  --lr-scheduler cosine --lr 1.0 --min-lr 0.0001 --stop-min-lr 1e-09 --warmup-updates 16000 --warmup-init-lr 1e-07 \
  --lr-period-updates 270000 --t-mult 2 --lr-shrink 0.75 \
  --criterion adaptive_loss --max-tokens 3072 --update-freq "${UPDATE_FREQ:-3}" --tokens-per-sample 3072 \
  --sample-break-mode none --skip-invalid-size-inputs-valid-test --seed 1 --keep-last-epochs 20 \
  --ddp-backend legacy_ddp --no-progress-bar --log-format simple "$@"
