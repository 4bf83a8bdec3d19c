#!/usr/bin/env bash
# CNN/DailyMail for fairseq's translation task (article -> summary), the standard way: normalise (Moses tokenisation,
# lowercase, articles cut to 400 tokens), joint BPE with subword-nmt (30k merges), fairseq-preprocess with a joined
# dictionary (the WMT presets share all embeddings).
#
#   bash examples/cnn_dm/prepare.sh RAW_DIR [DEST_DIR]          (default DEST_DIR: data-bin/cnn_dm)
#
# RAW_DIR holds train.source, train.target, valid.source, valid.target, test.source, test.target: one article
# (.source) or its reference summary (.target) a line, line n of .source matching line n of .target. That is the
# layout of the common CNN/DM releases (e.g. the one fairseq's BART example uses; See et al.'s scripts produce the
# same one story a line). Nothing is downloaded.
#
# TOKENIZE [1]: Moses-tokenise (set 0 for already tokenised text, e.g. See et al.'s output). LOWERCASE [1].
# MAX_SOURCE_TOKENS [400]: words kept per article. BPE_MERGES [30000]. WORKERS [4]. WORK [DEST_DIR/work] for the
# intermediate files. The tokenised test references go to DEST_DIR/refs/test.target (ROUGE is scored on them).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools subword-nmt fairseq-preprocess
[ $# -ge 1 ] || { echo "usage: $0 RAW_DIR [DEST_DIR]" >&2; exit 2; }
RAW="$1"; DEST="${2:-data-bin/cnn_dm}"
WORK="${WORK:-$DEST/work}"
BPE_MERGES="${BPE_MERGES:-30000}"
norm_flags=()
[ "${TOKENIZE:-1}" = 1 ] && norm_flags+=(--tokenize)
[ "${LOWERCASE:-1}" = 1 ] && norm_flags+=(--lowercase)

for split in train valid test; do
  for side in source target; do
    [ -s "$RAW/$split.$side" ] || { echo "error: $RAW/$split.$side is missing or empty" >&2; exit 1; }
  done
  n_src=$(wc -l < "$RAW/$split.source"); n_tgt=$(wc -l < "$RAW/$split.target")
  [ "$n_src" -eq "$n_tgt" ] || {
    echo "error: $RAW/$split.source has $n_src lines but $RAW/$split.target has $n_tgt; they must pair up" >&2
    exit 1; }
done

mkdir -p "$WORK" "$DEST/refs"
for split in train valid test; do
  "$PYTHON" "$HERE/normalize.py" "${norm_flags[@]}" --max-tokens "${MAX_SOURCE_TOKENS:-400}" \
    < "$RAW/$split.source" > "$WORK/$split.tok.source"
  "$PYTHON" "$HERE/normalize.py" "${norm_flags[@]}" < "$RAW/$split.target" > "$WORK/$split.tok.target"
done
cp "$WORK/test.tok.target" "$DEST/refs/test.target"
cp "$WORK/valid.tok.target" "$DEST/refs/valid.target"

subword-nmt learn-joint-bpe-and-vocab --input "$WORK/train.tok.source" "$WORK/train.tok.target" -s "$BPE_MERGES" \
  -o "$WORK/codes" --write-vocabulary "$WORK/vocab.source" "$WORK/vocab.target"
for split in train valid test; do
  for side in source target; do
    subword-nmt apply-bpe -c "$WORK/codes" --vocabulary "$WORK/vocab.$side" --vocabulary-threshold 1 \
      < "$WORK/$split.tok.$side" > "$WORK/$split.bpe.$side"
  done
done

fairseq-preprocess --source-lang source --target-lang target --joined-dictionary \
  --trainpref "$WORK/train.bpe" --validpref "$WORK/valid.bpe" --testpref "$WORK/test.bpe" \
  --destdir "$DEST" --workers "${WORKERS:-4}"
echo "binarised into $DEST ($(wc -l < "$DEST/dict.source.txt") entries in the joined dictionary)"
