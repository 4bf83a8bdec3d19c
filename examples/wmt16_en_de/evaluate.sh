#!/usr/bin/env bash
# Score a model on newstest2014 En-De as the authors' configs/wmt16.en-de/test.sh does: beam 4, length penalty 0.6,
# --remove-bpe, tokenised BLEU with compound splitting ("a-b" -> "a ##AT##-##AT## b" on hypotheses and references,
# fairseq's compound_split_bleu.sh; the paper's figure); then sacreBLEU of the Moses-detokenised output against the
# untokenised references, with its signature.
#
#   bash examples/wmt16_en_de/evaluate.sh DATA_BIN CHECKPOINT_DIR|CHECKPOINT.pt OUT_DIR [fairseq-generate options]
#
# AVG [0]: with a folder, its checkpoint_best.pt as the authors' test script; AVG=N averages the last N epoch
# checkpoints instead. LENPEN [0.6]. SUBSET [test]. Writes OUT_DIR/generate.log, test.hyp.tok, test.ref.tok,
# test.{hyp,ref}.split, bleu.txt, test.hyp.detok, sacrebleu.json.
set -euo pipefail
SRC=en; TGT=de
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
[ $# -ge 3 ] || die "usage: $0 DATA_BIN CHECKPOINT_DIR|CHECKPOINT.pt OUT_DIR [fairseq-generate options...]"
DATA="$1"; CKPT="$2"; OUT="$3"; shift 3
AVG="${AVG:-0}" LENPEN="${LENPEN:-0.6}" COMPOUND_SPLIT=1 run_evaluation "$DATA" "$CKPT" "$OUT" "$@"
