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

prepare_wmt fren 1333 "${BPE_TOKENS:-40000}"
