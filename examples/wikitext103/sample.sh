#!/usr/bin/env bash
# Complete prompts with a trained language model: fairseq-interactive on the language_modeling task reads one
# prompt a line on standard input and continues it by top-k sampling (the hypothesis line H-... holds the prompt
# and its continuation). The prompt must be tokenised like the training text (WikiText: words split by spaces).
#
#   echo "The tower is" | bash examples/wikitext103/sample.sh DATA_BIN CHECKPOINT [more options...]
#
# TOPK [10] sampling from the 10 likeliest words, LENGTH [50] new tokens at most, SEED [1].
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-interactive
[ $# -ge 2 ] || { echo "usage: $0 DATA_BIN CHECKPOINT [fairseq-interactive options...] < prompts" >&2; exit 2; }
DATA="$1"; CKPT="$2"; shift 2
[ -f "$CKPT" ] || { echo "error: checkpoint $CKPT not found" >&2; exit 1; }

fairseq-interactive "$DATA" --user-dir "$USER_DIR" --task language_modeling --path "$CKPT" \
  --sampling --sampling-topk "${TOPK:-10}" --beam 1 --nbest 1 --max-len-b "${LENGTH:-50}" --seed "${SEED:-1}" "$@"
