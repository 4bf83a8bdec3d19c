#!/usr/bin/env bash
# WMT English-German (the paper's "WMT'16 En-De" setting: WMT'16 training data, newstest2013 / newstest2014),
# two ways:
#
# 1. From the raw corpora, as fairseq's examples/translation/prepare-wmt14en2de.sh does, with sacremoses and
#    subword-nmt in place of the Moses perl scripts: Europarl v7, Common Crawl and News Commentary v12; Moses
#    punctuation normalisation, removal of non-printing characters, aggressive-hyphen tokenisation (-a); every
#    100th pair is the validation set; joint BPE of the paper's size (32k merges; fairseq's script uses 40k); after
#    BPE, pairs of 1..250 tokens with length ratio <= 1.5 kept; newstest2014 (full) is the test set.
#
#       bash examples/wmt16_en_de/prepare.sh [DEST_DIR]            (default: data-bin/wmt16_en_de)
#
#    ARCHIVES=/folder  reads the four archives (file names of the URLS below) from there instead of downloading.
#
# 2. From Google's preprocessed wmt16_en_de_bpe32k archive (what the authors trained on; 32k joint BPE, already
#    tokenised and cleaned; newstest2013 valid, newstest2014 test), binarised as the authors' prepare.sh does:
#
#       BPE32K_ARCHIVE=path/to/wmt16_en_de_bpe32k.tar.gz bash examples/wmt16_en_de/prepare.sh [DEST_DIR]
#
# Both write one joined dictionary (the WMT presets share all embeddings) into DEST_DIR, the BPE codes to
# DEST_DIR/code and the untokenised test references to DEST_DIR/refs/test.de (for sacreBLEU; route 2 only when the
# archive holds newstest2014.de). BPE_TOKENS [32000]. WORKERS [4]. WORK [DEST_DIR/work].
set -euo pipefail
SRC=en; TGT=de
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
need_tools subword-nmt fairseq-preprocess
DEST="${1:-data-bin/wmt16_en_de}"
WORK="${WORK:-$DEST/work}"
ORIG="$WORK/orig"; TMP="$WORK/tmp"
mkdir -p "$TMP" "$DEST/refs"

if [ -n "${BPE32K_ARCHIVE:-}" ]; then
  [ -f "$BPE32K_ARCHIVE" ] || die "BPE32K_ARCHIVE=$BPE32K_ARCHIVE not found"
  mkdir -p "$ORIG"
  tar -xzf "$BPE32K_ARCHIVE" -C "$ORIG" || die "$BPE32K_ARCHIVE is not a readable gzipped tar archive"
  train="$(find "$ORIG" -name "train.tok.clean.bpe.32000.$SRC" | head -n 1)"
  [ -n "$train" ] || die "$BPE32K_ARCHIVE holds no train.tok.clean.bpe.32000.$SRC"
  text="$(dirname "$train")"
  need_file "$text/train.tok.clean.bpe.32000.$TGT" "$text/newstest2013.tok.bpe.32000.$SRC" \
    "$text/newstest2013.tok.bpe.32000.$TGT" "$text/newstest2014.tok.bpe.32000.$SRC" \
    "$text/newstest2014.tok.bpe.32000.$TGT"
  [ -f "$text/bpe.32000" ] && cp "$text/bpe.32000" "$DEST/code"
  [ -f "$text/newstest2014.$TGT" ] && cp "$text/newstest2014.$TGT" "$DEST/refs/test.$TGT"
  fairseq-preprocess --source-lang $SRC --target-lang $TGT --joined-dictionary \
    --nwordssrc 32768 --nwordstgt 32768 --trainpref "$text/train.tok.clean.bpe.32000" \
    --validpref "$text/newstest2013.tok.bpe.32000" --testpref "$text/newstest2014.tok.bpe.32000" \
    --destdir "$DEST" --workers "$WORKERS"
  echo "binarised $BPE32K_ARCHIVE into $DEST"
  exit 0
fi

URLS=(
  http://statmt.org/wmt13/training-parallel-europarl-v7.tgz
  http://statmt.org/wmt13/training-parallel-commoncrawl.tgz
  http://data.statmt.org/wmt17/translation-task/training-parallel-nc-v12.tgz
  http://statmt.org/wmt14/test-full.tgz
)
CORPORA=(training/europarl-v7.de-en commoncrawl.de-en training/news-commentary-v12.de-en)
for url in "${URLS[@]}"; do fetch_archive "$ORIG" "$url"; done
for l in $SRC $TGT; do
  for c in "${CORPORA[@]}"; do need_file "$ORIG/$c.$l"; done
done
need_file "$ORIG/test-full/newstest2014-deen-src.$SRC.sgm" "$ORIG/test-full/newstest2014-deen-ref.$TGT.sgm"

prepare_wmt deen 100 "${BPE_TOKENS:-32000}"
