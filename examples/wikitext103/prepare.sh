#!/usr/bin/env bash
# WikiText-103 for fairseq's language_modeling task, as fairseq's own recipe (and the authors') does it: download
# the word-level release, then binarise with `fairseq-preprocess --only-source` (one dictionary of every word).
#
#   bash examples/wikitext103/prepare.sh [DEST_DIR]        (default: data-bin/wikitext-103)
#
# WIKITEXT_DIR=/path/to/wikitext-103  skips the download: a folder holding wiki.train.tokens, wiki.valid.tokens and
#                                     wiki.test.tokens (the release's format: one paragraph or " = Heading = " a
#                                     line, words separated by spaces, rare words as <unk>); WikiText-2 works too.
# WIKITEXT_URL   the release to download (default below); RAW_DIR where to unpack it [raw/]; WORKERS [4].
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
need_tools fairseq-preprocess

DEST="${1:-data-bin/wikitext-103}"
WORKERS="${WORKERS:-4}"
URL="${WIKITEXT_URL:-https://wikitext.smerity.com/wikitext-103-v1.zip}"

if [ -n "${WIKITEXT_DIR:-}" ]; then
  TEXT="$WIKITEXT_DIR"
else
  RAW_DIR="${RAW_DIR:-raw}"
  TEXT="$RAW_DIR/wikitext-103"
  mkdir -p "$RAW_DIR"
  if [ ! -f "$TEXT/wiki.train.tokens" ]; then
    need_tools wget unzip
    zip="$RAW_DIR/$(basename "$URL")"
    if [ ! -f "$zip" ]; then
      wget -O "$zip.part" "$URL"
      mv "$zip.part" "$zip"
    fi
    unzip -o -q "$zip" -d "$RAW_DIR"
  fi
fi
for split in train valid test; do
  [ -s "$TEXT/wiki.$split.tokens" ] || {
    echo "error: $TEXT/wiki.$split.tokens is missing or empty (WIKITEXT_DIR must hold wiki.{train,valid,test}.tokens)" >&2
    exit 1; }
done

fairseq-preprocess --only-source \
  --trainpref "$TEXT/wiki.train.tokens" --validpref "$TEXT/wiki.valid.tokens" --testpref "$TEXT/wiki.test.tokens" \
  --destdir "$DEST" --workers "$WORKERS"
echo "binarised into $DEST ($(wc -l < "$DEST/dict.txt") words in dict.txt)"
