#!/usr/bin/env bash
# Perplexity of a trained language model with fairseq-eval-lm, as the paper evaluates it: a context window of
# 2560 tokens (--context-window 2560). In fairseq 0.12 each scored block is --tokens-per-sample minus the context
# window long, so --tokens-per-sample 3072 (the training block) scores blocks of 512 new tokens, each seeing up to
# 2560 tokens before it, within the model's 3072 positions. Sentences are kept whole (--sample-break-mode complete);
# fairseq-eval-lm skips a line longer than the model's positions, so compare its "Evaluated N tokens" with the
# split's size (WikiText-103 has no such line at 3072; with a short --tokens-per-sample use --sample-break-mode none).
#
#   bash examples/wikitext103/eval.sh DATA_BIN CHECKPOINT [more fairseq-eval-lm options...]
#
# SUBSET [test] (or valid). Options after CHECKPOINT are appended, so they override the defaults.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-eval-lm
[ $# -ge 2 ] || { echo "usage: $0 DATA_BIN CHECKPOINT [fairseq-eval-lm options...]" >&2; exit 2; }
DATA="$1"; CKPT="$2"; shift 2
[ -f "$CKPT" ] || { echo "error: checkpoint $CKPT not found" >&2; exit 1; }

fairseq-eval-lm "$DATA" --user-dir "$USER_DIR" --path "$CKPT" --gen-subset "${SUBSET:-test}" \
  --sample-break-mode complete --max-tokens 3072 --tokens-per-sample 3072 --context-window 2560 \
  --softmax-batch 1024 "$@"
