#!/usr/bin/env bash
# Train the summariser with the WMT d=496 preset, as the paper does (the authors' configs/cnndm config, in fairseq
# 0.12's option names): shared embeddings, dropout 0.15, attention and weight dropout 0.1, Adam (0.9, 0.98),
# cosine schedule warming up over 10k updates from 1e-7 to 1e-3 then down to 1e-7 over 40k, 50k updates,
# label smoothing 0.1, 4096 tokens per GPU with --update-freq 16 (8 GPUs in the paper). Sources longer than
# --max-source-positions (1024) are truncated (--truncate-source), never fed to the model whole.
#
#   bash examples/cnn_dm/train.sh DATA_BIN SAVE_DIR [more fairseq-train options...]
#
# ARCH [lite_transformer_wmt_496]. UPDATE_FREQ [16]. Options after SAVE_DIR are appended and override these.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-train
[ $# -ge 2 ] || { echo "usage: $0 DATA_BIN SAVE_DIR [fairseq-train options...]" >&2; exit 2; }
DATA="$1"; SAVE="$2"; shift 2
[ -f "$DATA/dict.source.txt" ] || { echo "error: $DATA/dict.source.txt not found; run prepare.sh first" >&2; exit 1; }

fairseq-train "$DATA" --user-dir "$USER_DIR" --task translation --source-lang source --target-lang target \
  --arch "${ARCH:-lite_transformer_wmt_496}" --share-all-embeddings --save-dir "$SAVE" \
  --dropout 0.15 --attention-dropout 0.1 --weight-dropout 0.1 \
  --optimizer adam --adam-betas '(0.9, 0.98)' --clip-norm 0.0 --weight-decay 0.0 \
  --lr-scheduler cosine --lr 0.001 --min-lr 1e-07 --stop-min-lr 1e-09 --warmup-updates 10000 --warmup-init-lr 1e-07 \
  --lr-period-updates 40000 --t-mult 1 --lr-shrink 1 --max-update 50000 \
  --criterion label_smoothed_cross_entropy --label-smoothing 0.1 \
  --max-tokens 4096 --update-freq "${UPDATE_FREQ:-16}" --truncate-source --skip-invalid-size-inputs-valid-test \
  --keep-last-epochs 10 --ddp-backend legacy_ddp --no-progress-bar \
  --log-format simple "$@"
