#!/usr/bin/env bash
# Prepare a raw parallel corpus for the quality benchmark: Moses-normalise and tokenise (sacremoses), learn joint
# BPE (subword-nmt), binarise with one joined dictionary (fairseq-preprocess).
#
#   bash benchmarks/quality/prepare.sh [RAW_DIR] [WORK_DIR]
#
# RAW_DIR (default $QUALITY_RAW, else ../shared/data/ddtp-de-en beside the repository root: the DDTP
# German-English corpus in the project's shared folder) must hold untokenised, sentence-aligned
# {train,valid,test}.{SRC,TGT}.
# WORK_DIR (default $QUALITY_OUT, else ./work_dirs/quality) receives tok/ (tokenised + BPE text) and data-bin/.
# Knobs: QUALITY_SRC [de]  QUALITY_TGT [en]  QUALITY_BPE [8000] merges  QUALITY_WORKERS [2]  PYTHON [python]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_RAW="$(dirname "$(dirname "$(dirname "$HERE")")")/shared/data/ddtp-de-en"  # <repo>/../shared/data/...
PYTHON="${PYTHON:-python}"
RAW="${1:-${QUALITY_RAW:-$DEFAULT_RAW}}"
WORK="${2:-${QUALITY_OUT:-work_dirs/quality}}"
SRC="${QUALITY_SRC:-de}"
TGT="${QUALITY_TGT:-en}"
BPE="${QUALITY_BPE:-8000}"
WORKERS="${QUALITY_WORKERS:-2}"

for split in train valid test; do
  for l in "$SRC" "$TGT"; do
    [ -s "$RAW/$split.$l" ] || {
      echo "error: $RAW/$split.$l is missing or empty. The default corpus is ../shared/data/ddtp-de-en" \
           "beside the repository root ($DEFAULT_RAW); elsewhere pass RAW_DIR (or QUALITY_RAW) holding" \
           "{train,valid,test}.{$SRC,$TGT} and set QUALITY_SRC/QUALITY_TGT." >&2; exit 1; }
  done
  n_src=$(wc -l < "$RAW/$split.$SRC"); n_tgt=$(wc -l < "$RAW/$split.$TGT")
  [ "$n_src" -eq "$n_tgt" ] || { echo "error: $RAW/$split: $n_src $SRC lines vs $n_tgt $TGT lines" >&2; exit 1; }
done
for tool in subword-nmt fairseq-preprocess; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' not found on PATH" >&2; exit 1; }
done
"$PYTHON" -c "import sacremoses" 2>/dev/null || { echo "error: sacremoses is not installed (pip install sacremoses==0.2.0)" >&2; exit 1; }

mkdir -p "$WORK/tok"
WORK="$(cd "$WORK" && pwd)"; TOK="$WORK/tok"; BIN="$WORK/data-bin"
echo "quality/prepare: $RAW ($SRC->$TGT) -> $WORK, $BPE BPE merges"

"$PYTHON" "$HERE/moses.py" tokenize --raw "$RAW" --out "$TOK" --langs "$SRC" "$TGT"
subword-nmt learn-joint-bpe-and-vocab --input "$TOK/train.tok.$SRC" "$TOK/train.tok.$TGT" -s "$BPE" \
  -o "$TOK/codes" --write-vocabulary "$TOK/vocab.$SRC" "$TOK/vocab.$TGT" 2> "$WORK/bpe.log" \
  || { tail -c 2000 "$WORK/bpe.log" >&2; exit 1; }
for split in train valid test; do
  for l in "$SRC" "$TGT"; do
    subword-nmt apply-bpe -c "$TOK/codes" --vocabulary "$TOK/vocab.$l" --vocabulary-threshold 1 \
      < "$TOK/$split.tok.$l" > "$TOK/$split.bpe.$l"
  done
done
rm -rf "$BIN"
fairseq-preprocess --source-lang "$SRC" --target-lang "$TGT" --trainpref "$TOK/train.bpe" \
  --validpref "$TOK/valid.bpe" --testpref "$TOK/test.bpe" --destdir "$BIN" --joined-dictionary \
  --workers "$WORKERS" > "$WORK/preprocess.log" 2>&1 || { tail -n 20 "$WORK/preprocess.log" >&2; exit 1; }
# Keep the untokenised references beside the binarised data, so scoring needs nothing else.
for l in "$SRC" "$TGT"; do cp "$RAW/test.$l" "$WORK/test.raw.$l"; cp "$RAW/valid.$l" "$WORK/valid.raw.$l"; done
printf 'RAW=%s\nSRC=%s\nTGT=%s\nBPE=%s\n' "$RAW" "$SRC" "$TGT" "$BPE" > "$WORK/prepare.env"
grep -E "Dictionary|\] .*train" "$WORK/preprocess.log" | sed 's/^/    /' || true
echo "quality/prepare: done ($BIN)"
