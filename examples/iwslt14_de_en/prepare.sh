#!/usr/bin/env bash
# IWSLT'14 German-English, prepared as fairseq's examples/translation/prepare-iwslt14.sh does (and the authors'
# configs/iwslt14.de-en/prepare.sh), with sacremoses and subword-nmt in place of the Moses perl scripts:
# training talks without their <url>/<talkid>/<keywords> lines, Moses tokenisation, pairs of 1..175 words and
# length ratio <= 1.5 kept, lowercased; every 23rd training pair is the validation set; the test set is dev2010,
# TEDX dev2012 and tst2010-2012 together; 10k joint BPE merges; separate dictionaries.
#
#   bash examples/iwslt14_de_en/prepare.sh [DEST_DIR]        (default: data-bin/iwslt14.tokenized.de-en)
#
# ARCHIVES=/folder/with/de-en.tgz  reads the archive from there instead of downloading IWSLT_URL (default: fairseq's
# copy of the WIT3 release, whose original address https://wit3.fbk.eu/archive/2014-01/texts/de/en/de-en.tgz is gone).
# BPE_TOKENS [10000]. WORKERS [4]. WORK [DEST_DIR/work] for the downloads and intermediate files.
# Writes DEST_DIR (fairseq-preprocess output), DEST_DIR/code (the BPE codes, for fairseq-interactive and the hub
# interface) and DEST_DIR/refs/test.en (the untokenised, cased test references, for sacreBLEU).
set -euo pipefail
SRC=de; TGT=en
source "$(dirname "${BASH_SOURCE[0]}")/../translation/common.sh"
need_tools subword-nmt fairseq-preprocess
DEST="${1:-data-bin/iwslt14.tokenized.de-en}"
WORK="${WORK:-$DEST/work}"
URL="${IWSLT_URL:-http://dl.fbaipublicfiles.com/fairseq/data/iwslt14/de-en.tgz}"
ORIG="$WORK/orig"; TMP="$WORK/tmp"; RAW="$ORIG/de-en"
TEST_SETS=(IWSLT14.TED.dev2010 IWSLT14.TEDX.dev2012 IWSLT14.TED.tst2010 IWSLT14.TED.tst2011 IWSLT14.TED.tst2012)
mkdir -p "$TMP" "$DEST/refs"

fetch_archive "$ORIG" "$URL"
for l in $SRC $TGT; do
  need_file "$RAW/train.tags.de-en.$l"
  for t in "${TEST_SETS[@]}"; do need_file "$RAW/$t.de-en.$l.xml"; done
done

echo "tokenising the training talks"
for l in $SRC $TGT; do
  recipe strip-iwslt-tags < "$RAW/train.tags.de-en.$l" \
    | recipe tokenize -l $l --lowercase --workers "$WORKERS" > "$TMP/train.tags.de-en.tok.$l"
done
recipe clean --ratio 1.5 --min 1 --max 175 "$TMP/train.tags.de-en.tok" $SRC $TGT "$TMP/train.tags.de-en"

echo "tokenising the dev and test talks"
for l in $SRC $TGT; do
  for t in "${TEST_SETS[@]}"; do
    recipe segs "$RAW/$t.de-en.$l.xml" > "$TMP/$t.raw.$l"
    recipe tokenize -l $l --lowercase < "$TMP/$t.raw.$l" > "$TMP/$t.$l"
  done
done

for l in $SRC $TGT; do
  awk 'NR % 23 == 0' "$TMP/train.tags.de-en.$l" > "$TMP/valid.$l"
  awk 'NR % 23 != 0' "$TMP/train.tags.de-en.$l" > "$TMP/train.$l"
  for t in "${TEST_SETS[@]}"; do cat "$TMP/$t.$l"; done > "$TMP/test.$l"
done
for t in "${TEST_SETS[@]}"; do cat "$TMP/$t.raw.$TGT"; done > "$DEST/refs/test.$TGT"

learn_apply_bpe "${BPE_TOKENS:-10000}" "$DEST/code" "$TMP" "$WORK/bpe" $SRC $TGT train valid test
fairseq-preprocess --source-lang $SRC --target-lang $TGT --trainpref "$WORK/bpe/train" \
  --validpref "$WORK/bpe/valid" --testpref "$WORK/bpe/test" --destdir "$DEST" --workers "$WORKERS"
echo "binarised into $DEST: $(wc -l < "$TMP/train.$SRC") train, $(wc -l < "$TMP/valid.$SRC") valid," \
  "$(wc -l < "$TMP/test.$SRC") test pairs"
