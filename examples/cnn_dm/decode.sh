#!/usr/bin/env bash
# Summarise the test articles with the paper's decoding settings (beam 4, length penalty 2.0, 55 to 140 tokens,
# no repeated trigram), undo BPE, and score ROUGE-1/2/L against the references with rouge-score.
#
#   bash examples/cnn_dm/decode.sh DATA_BIN CHECKPOINT OUT_DIR [more fairseq-generate options...]
#
# Writes OUT_DIR/generate.log, OUT_DIR/test.hyp (one summary a line, in test order) and OUT_DIR/rouge.txt.
# SUBSET [test]. REF [DATA_BIN/refs/SUBSET.target] the reference summaries, one a line (written by prepare.sh).
# Options after OUT_DIR are appended and override these (e.g. --cpu, --batch-size). Articles longer than the
# model's --max-source-positions are truncated (--truncate-source).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-generate
[ $# -ge 3 ] || { echo "usage: $0 DATA_BIN CHECKPOINT OUT_DIR [fairseq-generate options...]" >&2; exit 2; }
DATA="$1"; CKPT="$2"; OUT="$3"; shift 3
SUBSET="${SUBSET:-test}"
REF="${REF:-$DATA/refs/$SUBSET.target}"
[ -f "$CKPT" ] || { echo "error: checkpoint $CKPT not found" >&2; exit 1; }
[ -f "$REF" ] || { echo "error: reference file $REF not found (set REF=...)" >&2; exit 1; }
mkdir -p "$OUT"

fairseq-generate "$DATA" --user-dir "$USER_DIR" --task translation --source-lang source --target-lang target \
  --path "$CKPT" --gen-subset "$SUBSET" --truncate-source \
  --beam 4 --lenpen 2.0 --min-len 55 --max-len-b 140 --no-repeat-ngram-size 3 \
  --batch-size 32 --remove-bpe "$@" > "$OUT/generate.log" 2> "$OUT/generate.err" || {
    tail -n 20 "$OUT/generate.err" >&2; exit 1; }
# H-<id>\t<score>\t<text>: back to test order
grep '^H-' "$OUT/generate.log" | sed 's/^H-//' | sort -n -k1,1 -t$'\t' | cut -f3- > "$OUT/$SUBSET.hyp"
"$PYTHON" -m lite_fairseq.scoring.rouge "$OUT/$SUBSET.hyp" "$REF" | tee "$OUT/rouge.txt"
