#!/usr/bin/env bash
# Train a Lite Transformer on WMT En-De with the authors' recipe (configs/wmt16.en-de/.../embed{200,408,496}.yml
# in fairseq 0.12's option names): Adam (0.9, 0.98), no weight decay or clipping, label smoothing 0.1, cosine
# schedule warming up from 1e-7 to 1e-3 over 10000 updates then down to 1e-7 over 40000 (stop below 1e-9), 50k
# updates of 524,288 tokens (the authors: 4096 tokens x 16 accumulation x 8 GPUs), the last 20 epoch checkpoints
# kept. Dropout / attention dropout / weight dropout: 0.04/0.03/0.03 (d=200), 0.08/0.06/0.06 (d=408),
# 0.1/0.08/0.08 (d=496) (the presets' defaults).
#
#   bash examples/wmt16_en_de/train.sh DATA_BIN SAVE_DIR [more fairseq-train options...]
#
# ARCH [lite_transformer_wmt_496]: also lite_transformer_wmt_{200,408}, or the baselines
# transformer_paper_wmt_{128,256,320} (their own dropouts). Batch: MAX_TOKENS [4096] per device, --update-freq
# computed from the device count so that every update holds 524,288 tokens (8 GPUs: 16; 4: 32; 1: 128); NGPUS
# overrides the count (multi-node: all devices). fp16 on GPUs (FP16=0: fp32). --cpu among the options: a smoke run
# on the CPU (e.g. --cpu --update-freq 1 --max-update 10). Options after SAVE_DIR are appended and override these.
set -euo pipefail
SRC=en; TGT=de
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
[ $# -ge 2 ] || die "usage: $0 DATA_BIN SAVE_DIR [fairseq-train options...]"
DATA="$1"; SAVE="$2"; shift 2
ARCH="${ARCH:-lite_transformer_wmt_496}"
case "$ARCH" in
  lite_transformer_wmt_200) dropouts=(--dropout 0.04 --attention-dropout 0.03 --weight-dropout 0.03) ;;
  lite_transformer_wmt_408) dropouts=(--dropout 0.08 --attention-dropout 0.06 --weight-dropout 0.06) ;;
  lite_transformer_wmt_496) dropouts=(--dropout 0.1 --attention-dropout 0.08 --weight-dropout 0.08) ;;
  *) dropouts=() ;;  # other architectures keep their own defaults
esac

run_training "$DATA" "$SAVE" 524288 --arch "$ARCH" --share-all-embeddings "${dropouts[@]}" --weight-decay 0.0 \
  --lr-scheduler cosine --lr 0.001 --min-lr 1e-07 --stop-min-lr 1e-09 --warmup-updates 10000 \
  --warmup-init-lr 1e-07 --lr-period-updates 40000 --t-mult 1 --lr-shrink 1 --max-update 50000 \
  --keep-last-epochs 20 "$@"
