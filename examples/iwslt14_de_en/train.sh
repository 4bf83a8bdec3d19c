#!/usr/bin/env bash
# Train a Lite Transformer on IWSLT'14 De-En with the authors' recipe (configs/iwslt14.de-en/.../embed{160,240,320}
# .yml, in fairseq 0.12's option names): Adam (0.9, 0.98), lr 5e-4, inverse square-root schedule warming up from
# 1e-7 over 4000 updates, stop below lr 1e-9, weight decay 1e-4, no clipping, label smoothing 0.1, dropout 0.2 and
# weight dropout 0.1 (the presets' defaults), 50k updates of 4096 tokens, the last 10 epoch checkpoints kept (for
# evaluate.sh's average).
#
#   bash examples/iwslt14_de_en/train.sh DATA_BIN SAVE_DIR [more fairseq-train options...]
#
# ARCH [lite_transformer_iwslt_de_en_160]: also _240, _320, or the baselines transformer_paper_iwslt_{128,192,240}.
# The 4096 tokens of an update are split over the devices: MAX_TOKENS x --update-freq x devices = 4096 (one GPU:
# 4096 x 1; more GPUs: fewer tokens each). fp16 on GPUs (FP16=0: fp32). --cpu among the options: a smoke run on
# the CPU (e.g. --cpu --max-update 10). Options after SAVE_DIR are appended and override these.
set -euo pipefail
SRC=de; TGT=en
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
[ $# -ge 2 ] || die "usage: $0 DATA_BIN SAVE_DIR [fairseq-train options...]"
DATA="$1"; SAVE="$2"; shift 2

run_training "$DATA" "$SAVE" 4096 --arch "${ARCH:-lite_transformer_iwslt_de_en_160}" \
  --dropout 0.2 --weight-decay 0.0001 \
  --lr 0.0005 --lr-scheduler inverse_sqrt --warmup-updates 4000 --warmup-init-lr 1e-07 --stop-min-lr 1e-09 \
  --max-update 50000 --keep-last-epochs 10 "$@"
