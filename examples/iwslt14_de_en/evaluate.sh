#!/usr/bin/env bash
# Score a model on the IWSLT'14 De-En test set as the authors' configs/iwslt14.de-en/test.sh does: the average of
# the last 10 epoch checkpoints, beam 4 (default length penalty 1.0), --remove-bpe, tokenised (lowercased) BLEU
# against the binarised references; then sacreBLEU (case-insensitive, -lc) of the Moses-detokenised output against
# the untokenised references, with its signature.
#
#   bash examples/iwslt14_de_en/evaluate.sh DATA_BIN CHECKPOINT_DIR|CHECKPOINT.pt OUT_DIR [fairseq-generate options]
#
# AVG [10] epoch checkpoints averaged when given a folder (0: its checkpoint_best.pt). LENPEN [1.0]. SUBSET [test].
# Writes OUT_DIR/generate.log, test.hyp.tok, test.ref.tok, bleu.txt, test.hyp.detok, sacrebleu.json.
set -euo pipefail
SRC=de; TGT=en
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
[ $# -ge 3 ] || die "usage: $0 DATA_BIN CHECKPOINT_DIR|CHECKPOINT.pt OUT_DIR [fairseq-generate options...]"
DATA="$1"; CKPT="$2"; OUT="$3"; shift 3
AVG="${AVG:-10}" LENPEN="${LENPEN:-1.0}" COMPOUND_SPLIT=0 SACREBLEU_OPTS="${SACREBLEU_OPTS:--lc}" \
  run_evaluation "$DATA" "$CKPT" "$OUT" "$@"
