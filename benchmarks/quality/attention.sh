#!/usr/bin/env bash
# Attention maps (PNG) of one valid sentence and the diagonal mass over the first 200 valid sentences for every
# trained run of the quality benchmark (python -m lite_fairseq.analysis.attention_maps).
#
#   bash benchmarks/quality/attention.sh          (QUALITY_OUT as the other scripts; QUALITY_ATTN_LINE [21]: the
#                                                  line of valid.raw.SRC to draw)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python}"
WORK="${QUALITY_OUT:-work_dirs/quality}"
SRC="${QUALITY_SRC:-de}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
SENT=$(sed -n "${QUALITY_ATTN_LINE:-21}p" "$WORK/valid.raw.$SRC")
for run in "$WORK"/runs/*; do
  [ -f "$run/checkpoints/checkpoint_last.pt" ] || continue
  "$PYTHON" -m lite_fairseq.analysis.attention_maps "$run/checkpoints/checkpoint_last.pt" "$WORK/data-bin" \
    --sentence "$SENT" --bpe-codes "$WORK/tok/codes" --lang "$SRC" --png "$run/attention.png" \
    --subset valid --max-sentences 200 --json "$run/attention.json" 2>&1 | grep -E "^(sentence|subset|wrote|error|Traceback)" | sed "s|^|$(basename "$run"): |"
done
