#!/usr/bin/env bash
# WMT'14 English-French, prepared as fairseq's examples/translation/prepare-wmt14en2fr.sh does (and the authors'
# configs/wmt14.en-fr/prepare.sh), with sacremoses and subword-nmt in place of the Moses perl scripts: Europarl v7,
# Common Crawl, UN, News Commentary v9 and the 10^9 French-English corpus; Moses punctuation normalisation, removal
# of non-printing characters and aggressive-hyphen tokenisation (-a); every 1333rd pair is the validation set;
# 40k joint BPE merges; after BPE, pairs of 1..250 tokens with length ratio <= 1.5 kept (train and valid);
# newstest2014 (full) is the test set; one joined dictionary (the WMT presets share all embeddings).
#
#   bash examples/wmt14_en_fr/prepare.sh [DEST_DIR]        (default: data-bin/wmt14_en_fr)
#
# ARCHIVES=/folder  reads the six archives (the file names of the URLS below) from there instead of downloading.
# BPE_TOKENS [40000]. WORKERS [4]: the largest of the three corpora, give it all the cores you have.
# WORK [DEST_DIR/work] for the downloads and intermediate files (several copies of the corpus: plan the disk).
# Writes DEST_DIR, DEST_DIR/code (BPE codes) and DEST_DIR/refs/test.fr (untokenised test references).
set -euo pipefail
SRC=en; TGT=fr
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
need_tools subword-nmt fairseq-preprocess
DEST="${1:-data-bin/wmt14_en_fr}"
WORK="${WORK:-$DEST/work}"
ORIG="$WORK/orig"; TMP="$WORK/tmp"
URLS=(
  http://statmt.org/wmt13/training-parallel-europarl-v7.tgz
  http://statmt.org/wmt13/training-parallel-commoncrawl.tgz
  http://statmt.org/wmt13/training-parallel-un.tgz
  http://statmt.org/wmt14/training-parallel-nc-v9.tgz
  http://statmt.org/wmt10/training-giga-fren.tar
  http://statmt.org/wmt14/test-full.tgz
)
CORPORA=(training/europarl-v7.fr-en commoncrawl.fr-en un/undoc.2000.fr-en training/news-commentary-v9.fr-en
         giga-fren.release2.fixed)
mkdir -p "$TMP" "$DEST/refs"

for url in "${URLS[@]}"; do fetch_archive "$ORIG" "$url"; done
for l in $SRC $TGT; do
  if [ -f "$ORIG/giga-fren.release2.fixed.$l.gz" ]; then gunzip -f "$ORIG/giga-fren.release2.fixed.$l.gz"; fi
  for c in "${CORPORA[@]}"; do need_file "$ORIG/$c.$l"; done
done
need_file "$ORIG/test-full/newstest2014-fren-src.$SRC.sgm" "$ORIG/test-full/newstest2014-fren-ref.$TGT.sgm"

echo "tokenising the training corpora"
for l in $SRC $TGT; do
  for c in "${CORPORA[@]}"; do cat "$ORIG/$c.$l"; done \
    | recipe tokenize -l $l -a --normalize --workers "$WORKERS" > "$TMP/train.tags.tok.$l"
done
echo "tokenising newstest2014"
recipe segs "$ORIG/test-full/newstest2014-fren-src.$SRC.sgm" | recipe tokenize -l $SRC -a > "$TMP/test.$SRC"
recipe segs "$ORIG/test-full/newstest2014-fren-ref.$TGT.sgm" > "$DEST/refs/test.$TGT"
recipe tokenize -l $TGT -a < "$DEST/refs/test.$TGT" > "$TMP/test.$TGT"

for l in $SRC $TGT; do
  awk 'NR % 1333 == 0' "$TMP/train.tags.tok.$l" > "$TMP/valid.$l"
  awk 'NR % 1333 != 0' "$TMP/train.tags.tok.$l" > "$TMP/train.$l"
done
learn_apply_bpe "${BPE_TOKENS:-40000}" "$DEST/code" "$TMP" "$WORK/bpe" $SRC $TGT train valid test
recipe clean --ratio 1.5 --min 1 --max 250 "$WORK/bpe/train" $SRC $TGT "$WORK/bpe/train.clean"
recipe clean --ratio 1.5 --min 1 --max 250 "$WORK/bpe/valid" $SRC $TGT "$WORK/bpe/valid.clean"

fairseq-preprocess --source-lang $SRC --target-lang $TGT --joined-dictionary --thresholdsrc 0 --thresholdtgt 0 \
  --trainpref "$WORK/bpe/train.clean" --validpref "$WORK/bpe/valid.clean" --testpref "$WORK/bpe/test" \
  --destdir "$DEST" --workers "$WORKERS"
echo "binarised into $DEST: $(wc -l < "$WORK/bpe/train.clean.$SRC") train, $(wc -l < "$WORK/bpe/valid.clean.$SRC")" \
  "valid, $(wc -l < "$WORK/bpe/test.$SRC") test pairs"
