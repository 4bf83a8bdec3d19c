# Sourced by the translation recipes (examples/iwslt14_de_en, examples/wmt14_en_fr, examples/wmt16_en_de): the
# steps they share. The text steps live in recipe.py next to this file (see its docstring).
#
# Environment variables understood by every recipe (defaults in brackets):
#   ARCHIVES     a folder holding the upstream archives already downloaded (same file names as the URLs); set it,
#                and prepare.sh reads them from there instead of downloading (machines without internet)
#   WORKERS [4]  processes for tokenisation and fairseq-preprocess
#   NGPUS        devices of the training run (all nodes together); default: the GPUs torch sees
#   MAX_TOKENS [4096] tokens per device and step; FP16 [1] on GPUs
#   AVG          evaluate.sh: average the last AVG epoch checkpoints (0: checkpoint_best.pt)
#   LENPEN       evaluate.sh: length penalty;  SUBSET [test]
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
TRANSLATION="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKERS="${WORKERS:-4}"
export PYTHONUNBUFFERED=1

die() { echo "error: $*" >&2; exit 1; }
recipe() { "$PYTHON" "$TRANSLATION/recipe.py" "$@"; }

# fetch_archive ORIG_DIR URL: the archive from $ARCHIVES, or ORIG_DIR if already there, else downloaded into
# ORIG_DIR; then unpacked into ORIG_DIR (.tgz, .tar.gz, .tar; other files are used as they are).
fetch_archive() {
  local orig="$1" url="$2" file src
  file="$(basename "$url")"
  mkdir -p "$orig"
  if [ -n "${ARCHIVES:-}" ]; then
    src="$ARCHIVES/$file"
    [ -f "$src" ] || die "ARCHIVES=$ARCHIVES holds no $file (download $url into that folder, or unset ARCHIVES)"
  else
    src="$orig/$file"
    if [ -f "$src" ]; then
      echo "$file already downloaded"
    else
      echo "downloading $url"
      recipe download "$url" "$src"
    fi
  fi
  case "$file" in
    *.tgz|*.tar.gz) tar -xzf "$src" -C "$orig" || die "$src is not a readable gzipped tar archive" ;;
    *.tar) tar -xf "$src" -C "$orig" || die "$src is not a readable tar archive" ;;
    *) [ "$src" = "$orig/$file" ] || cp "$src" "$orig/$file" ;;
  esac
}

# need_file FILE...: stop with a message naming the first missing or empty one
need_file() {
  local f
  for f in "$@"; do [ -s "$f" ] || die "$f is missing or empty (is the archive complete?)"; done
}

# learn_apply_bpe MERGES CODES IN_DIR OUT_DIR SRC TGT SPLIT...: joint BPE learned on IN_DIR/train.{SRC,TGT}
# together (as fairseq's scripts: one learn_bpe over both sides), applied to IN_DIR/SPLIT.LANG -> OUT_DIR/SPLIT.LANG
learn_apply_bpe() {
  local merges="$1" codes="$2" in="$3" out="$4" src="$5" tgt="$6" split l
  shift 6
  mkdir -p "$out"
  echo "learning $merges BPE merges on $in/train.$src + $in/train.$tgt"
  cat "$in/train.$src" "$in/train.$tgt" | subword-nmt learn-bpe -s "$merges" > "$codes"
  for split in "$@"; do
    for l in "$src" "$tgt"; do
      subword-nmt apply-bpe -c "$codes" < "$in/$split.$l" > "$out/$split.$l"
    done
  done
}

# prepare_wmt PAIR VALID_EVERY MERGES: fairseq's WMT preparation after the download, for the corpora in CORPORA
# (ORIG/<corpus>.<lang>) and newstest2014-PAIR in ORIG/test-full: Moses tokenisation, every VALID_EVERY-th training
# pair held out for validation, joint BPE with MERGES merges, length/ratio cleaning, binarisation with a joined
# dictionary into DEST (SRC, TGT, ORIG, TMP, WORK, DEST, WORKERS set by the caller).
prepare_wmt() {
  local pair="$1" valid_every="$2" merges="$3" l c
  echo "tokenising the training corpora"
  for l in $SRC $TGT; do
    for c in "${CORPORA[@]}"; do cat "$ORIG/$c.$l"; done \
      | recipe tokenize -l $l -a --normalize --workers "$WORKERS" > "$TMP/train.tags.tok.$l"
  done
  echo "tokenising newstest2014"
  recipe segs "$ORIG/test-full/newstest2014-$pair-src.$SRC.sgm" | recipe tokenize -l $SRC -a > "$TMP/test.$SRC"
  recipe segs "$ORIG/test-full/newstest2014-$pair-ref.$TGT.sgm" > "$DEST/refs/test.$TGT"
  recipe tokenize -l $TGT -a < "$DEST/refs/test.$TGT" > "$TMP/test.$TGT"

  for l in $SRC $TGT; do
    awk -v n="$valid_every" 'NR % n == 0' "$TMP/train.tags.tok.$l" > "$TMP/valid.$l"
    awk -v n="$valid_every" 'NR % n != 0' "$TMP/train.tags.tok.$l" > "$TMP/train.$l"
  done
  learn_apply_bpe "$merges" "$DEST/code" "$TMP" "$WORK/bpe" $SRC $TGT train valid test
  recipe clean --ratio 1.5 --min 1 --max 250 "$WORK/bpe/train" $SRC $TGT "$WORK/bpe/train.clean"
  recipe clean --ratio 1.5 --min 1 --max 250 "$WORK/bpe/valid" $SRC $TGT "$WORK/bpe/valid.clean"

  fairseq-preprocess --source-lang $SRC --target-lang $TGT --joined-dictionary --thresholdsrc 0 --thresholdtgt 0 \
    --trainpref "$WORK/bpe/train.clean" --validpref "$WORK/bpe/valid.clean" --testpref "$WORK/bpe/test" \
    --destdir "$DEST" --workers "$WORKERS"
  echo "binarised into $DEST: $(wc -l < "$WORK/bpe/train.clean.$SRC") train, $(wc -l < "$WORK/bpe/valid.clean.$SRC")" \
    "valid, $(wc -l < "$WORK/bpe/test.$SRC") test pairs"
}

# gpu_count: NGPUS, else the CUDA devices torch sees
gpu_count() {
  if [ -n "${NGPUS:-}" ]; then echo "$NGPUS"; else "$PYTHON" -c 'import torch; print(torch.cuda.device_count())'; fi
}

# run_training DATA SAVE TOKENS_PER_UPDATE [fairseq-train options...]: fairseq-train with --max-tokens and
# --update-freq chosen so that every update sees TOKENS_PER_UPDATE tokens whatever the number of devices
# (max tokens x update freq x devices), fp16 on GPUs. With --cpu among the options: one CPU process, no fp16.
# The options come after the computed ones, so an explicit --update-freq or --max-tokens wins.
run_training() {
  local data="$1" save="$2" tokens="$3" cpu=0 a devices max_tokens update_freq
  shift 3
  need_tools fairseq-train
  [ -f "$data/dict.$SRC.txt" ] || die "$data/dict.$SRC.txt not found; run prepare.sh first"
  for a in "$@"; do [ "$a" = --cpu ] && cpu=1; done
  local precision=()
  if [ "$cpu" = 1 ]; then
    devices=1
  else
    devices="$(gpu_count)"
    [ "$devices" -ge 1 ] 2>/dev/null || die "no GPU found: pass --cpu for a (slow) smoke run on the CPU"
    [ "${FP16:-1}" = 1 ] && precision=(--fp16)
  fi
  read -r max_tokens update_freq < <(recipe batch --tokens-per-update "$tokens" --max-tokens "${MAX_TOKENS:-4096}" \
    --gpus "$devices") || die "could not compute the batch layout"
  echo "batch: $devices device(s) x $max_tokens tokens x update-freq $update_freq = $tokens tokens per update"
  fairseq-train "$data" --user-dir "$USER_DIR" --task translation --source-lang "$SRC" --target-lang "$TGT" \
    --save-dir "$save" --max-tokens "$max_tokens" --update-freq "$update_freq" "${precision[@]}" \
    --criterion label_smoothed_cross_entropy --label-smoothing 0.1 --optimizer adam --adam-betas '(0.9, 0.98)' \
    --clip-norm 0.0 --ddp-backend legacy_ddp --required-batch-size-multiple 1 \
    --no-progress-bar --log-format simple "$@"
}

# run_evaluation DATA CHECKPOINT OUT [fairseq-generate options...]: CHECKPOINT is a .pt file, or a training folder
# (then the average of its last AVG epoch checkpoints, or its checkpoint_best.pt when AVG=0). Beam 4; tokenised BLEU
# of the --remove-bpe output against the binarised references (fairseq-generate's T- lines), with compound splitting
# when COMPOUND_SPLIT=1; sacreBLEU of the detokenised output against DATA/refs/SUBSET.TGT (the raw references
# prepare.sh keeps), with its signature. SACREBLEU_OPTS are added to sacrebleu (e.g. -lc).
run_evaluation() {
  local data="$1" ckpt="$2" out="$3" subset="${SUBSET:-test}" avg="${AVG:-0}" model
  shift 3
  need_tools fairseq-generate sacrebleu
  mkdir -p "$out"
  if [ -d "$ckpt" ]; then
    if [ "$avg" -gt 1 ]; then
      model="$out/average_last_$avg.pt"
      recipe average --last "$avg" "$ckpt" --output "$model"
    else
      model="$ckpt/checkpoint_best.pt"
    fi
  else
    model="$ckpt"
  fi
  [ -f "$model" ] || die "checkpoint $model not found"
  echo "decoding $subset with $model (beam 4, length penalty $LENPEN)"
  fairseq-generate "$data" --user-dir "$USER_DIR" --task translation --source-lang "$SRC" --target-lang "$TGT" \
    --path "$model" --gen-subset "$subset" --beam 4 --lenpen "$LENPEN" --batch-size 128 \
    --required-batch-size-multiple 1 --remove-bpe "$@" > "$out/generate.log" 2> "$out/generate.err" || {
      tail -n 20 "$out/generate.err" >&2; die "fairseq-generate failed (see $out/generate.err)"; }
  recipe hyps "$out/generate.log" "$out/$subset.hyp.tok" "$out/$subset.ref.tok"
  local hyp="$out/$subset.hyp.tok" ref="$out/$subset.ref.tok" kind="tokenised BLEU"
  if [ "${COMPOUND_SPLIT:-0}" = 1 ]; then
    recipe compound-split < "$hyp" > "$out/$subset.hyp.split"
    recipe compound-split < "$ref" > "$out/$subset.ref.split"
    hyp="$out/$subset.hyp.split"; ref="$out/$subset.ref.split"; kind="tokenised BLEU, compound splitting"
  fi
  echo "$kind: $(recipe bleu "$hyp" "$ref")" | tee "$out/bleu.txt"
  recipe detokenize -l "$TGT" < "$out/$subset.hyp.tok" > "$out/$subset.hyp.detok"
  local raw_ref="${REF:-$data/refs/$subset.$TGT}"
  if [ -f "$raw_ref" ]; then
    # shellcheck disable=SC2086
    sacrebleu "$raw_ref" -i "$out/$subset.hyp.detok" -m bleu -w 2 ${SACREBLEU_OPTS:-} > "$out/sacrebleu.json" \
      || die "sacrebleu failed"
    echo "sacreBLEU (detokenised): $(tr -d '\n' < "$out/sacrebleu.json")"
  else
    echo "no raw references at $raw_ref (set REF=...): sacreBLEU skipped"
  fi
}
