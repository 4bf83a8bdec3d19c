#!/usr/bin/env bash
# Quickstart: generate the built-in German-like -> English corpus (the generator is corpus/ beside this script,
# run through corpus_cli.py), learn joint BPE, binarise, train a small Lite Transformer on CPU, translate the
# held-out test set with beam search and print sacreBLEU next to a trivial baseline that copies the source sentence.
#
#   bash examples/quickstart/run.sh [WORK_DIR]          (default: $QUICKSTART_OUT or ./quickstart_out)
#
# Everything is written under WORK_DIR. Knobs (environment variables, defaults in brackets):
#   QS_TRAIN [40000] training sentence pairs   QS_TEST [1000] test pairs   QS_SEED [1]
#   QS_BPE [3000] BPE merges   QS_MAX_UPDATE [700] updates   QS_MAX_TOKENS [4096] tokens per batch
#   QS_LR [0.0015]   QS_WARMUP [300]   QS_BEAM [4]
#   QS_STOP_MINUTES [6.5] wall-clock cap on training (fairseq --stop-time-hours), a safety net on slow machines
#   PYTHON [python]   OMP_NUM_THREADS [number of cores, at most 8]
set -euo pipefail

START=$(date +%s)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python}"
WORK="${1:-${QUICKSTART_OUT:-quickstart_out}}"

QS_TRAIN="${QS_TRAIN:-40000}"
QS_VALID="${QS_VALID:-500}"
QS_TEST="${QS_TEST:-1000}"
QS_SEED="${QS_SEED:-1}"
QS_BPE="${QS_BPE:-3000}"
QS_MAX_UPDATE="${QS_MAX_UPDATE:-700}"
QS_MAX_TOKENS="${QS_MAX_TOKENS:-4096}"
QS_LR="${QS_LR:-0.0015}"
QS_WARMUP="${QS_WARMUP:-300}"
QS_BEAM="${QS_BEAM:-4}"
QS_STOP_MINUTES="${QS_STOP_MINUTES:-6.5}"
QS_ARCH="${QS_ARCH:-lite_transformer_tiny}"

if [ -z "${OMP_NUM_THREADS:-}" ]; then
  cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
  [ "$cores" -gt 8 ] && cores=8
  export OMP_NUM_THREADS="$cores"
fi
export MKL_NUM_THREADS="$OMP_NUM_THREADS"
export PYTHONUNBUFFERED=1  # show fairseq log lines as they come

# The plugin: the checkout this script lives in, else the pip-installed package.
if [ -f "$HERE/../../lite_fairseq/__init__.py" ]; then
  REPO="$(cd "$HERE/../.." && pwd)"
  USER_DIR="$REPO/lite_fairseq"
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
else
  USER_DIR="$("$PYTHON" -c 'import lite_fairseq, os; print(os.path.dirname(lite_fairseq.__file__))')" || {
    echo "error: lite_fairseq is neither next to this script nor installed (pip install it first)" >&2; exit 1; }
fi

for tool in subword-nmt fairseq-preprocess fairseq-train fairseq-generate sacrebleu; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "error: '$tool' not found on PATH; activate the environment the README installs" >&2; exit 1; }
done

step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
RAW="$WORK/raw"; TOK="$WORK/tok"; BIN="$WORK/data-bin"; CKPT="$WORK/checkpoints"
mkdir -p "$RAW" "$TOK"
echo "lite_fairseq quickstart: work dir $WORK, user dir $USER_DIR, $OMP_NUM_THREADS threads"

step "1/6 generating the corpus ($QS_TRAIN train / $QS_VALID valid / $QS_TEST test pairs, seed $QS_SEED)"
"$PYTHON" "$HERE/corpus_cli.py" generate --out "$RAW" --train "$QS_TRAIN" --valid "$QS_VALID" \
  --test "$QS_TEST" --seed "$QS_SEED"
paste -d '\n' <(head -n 3 "$RAW/train.de") <(head -n 3 "$RAW/train.en") | sed 's/^/    /'

step "2/6 tokenising and learning joint BPE ($QS_BPE merges, subword-nmt)"
for split in train valid test; do
  for l in de en; do
    "$PYTHON" "$HERE/corpus_cli.py" tok < "$RAW/$split.$l" > "$TOK/$split.tok.$l"
  done
done
subword-nmt learn-joint-bpe-and-vocab --input "$TOK/train.tok.de" "$TOK/train.tok.en" -s "$QS_BPE" \
  -o "$TOK/codes" --write-vocabulary "$TOK/vocab.de" "$TOK/vocab.en"
for split in train valid test; do
  for l in de en; do
    subword-nmt apply-bpe -c "$TOK/codes" --vocabulary "$TOK/vocab.$l" --vocabulary-threshold 1 \
      < "$TOK/$split.tok.$l" > "$TOK/$split.bpe.$l"
  done
done

step "3/6 fairseq-preprocess (joined dictionary)"
rm -rf "$BIN"
fairseq-preprocess --source-lang de --target-lang en --trainpref "$TOK/train.bpe" \
  --validpref "$TOK/valid.bpe" --testpref "$TOK/test.bpe" --destdir "$BIN" --joined-dictionary \
  --workers 2 > "$WORK/preprocess.log" 2>&1 || { tail -n 20 "$WORK/preprocess.log" >&2; exit 1; }
grep -E "Dictionary|\[de\] .*train|\[en\] .*train" "$WORK/preprocess.log" | sed 's/^/    /' || true

step "4/6 fairseq-train --arch $QS_ARCH ($QS_MAX_UPDATE updates, at most $QS_STOP_MINUTES min)"
rm -rf "$CKPT"
STOP_HOURS=$("$PYTHON" -c "print($QS_STOP_MINUTES / 60)")
fairseq-train "$BIN" --user-dir "$USER_DIR" --arch "$QS_ARCH" --share-all-embeddings \
  --optimizer adam --adam-betas '(0.9, 0.98)' --clip-norm 0.0 \
  --lr "$QS_LR" --lr-scheduler inverse_sqrt --warmup-updates "$QS_WARMUP" --warmup-init-lr 1e-07 \
  --dropout 0.1 --weight-decay 0.0001 \
  --criterion label_smoothed_cross_entropy --label-smoothing 0.1 \
  --max-tokens "$QS_MAX_TOKENS" --max-update "$QS_MAX_UPDATE" --stop-time-hours "$STOP_HOURS" \
  --save-dir "$CKPT" --no-epoch-checkpoints --seed "$QS_SEED" --num-workers 0 --cpu \
  --log-format simple --log-interval 25 2>&1 | tee "$WORK/train.log" | grep --line-buffered -vE "^\s*$|tensorboardX"
[ -f "$CKPT/checkpoint_last.pt" ] || { echo "error: training wrote no checkpoint (see $WORK/train.log)" >&2; exit 1; }

step "5/6 fairseq-generate on the test set (beam $QS_BEAM, --remove-bpe)"
fairseq-generate "$BIN" --user-dir "$USER_DIR" --path "$CKPT/checkpoint_last.pt" --gen-subset test \
  --beam "$QS_BEAM" --batch-size 250 --remove-bpe --num-workers 0 --cpu > "$WORK/generate.log" 2>&1 \
  || { tail -n 20 "$WORK/generate.log" >&2; exit 1; }
"$PYTHON" "$HERE/corpus_cli.py" hyp < "$WORK/generate.log" > "$WORK/test.hyp.en"
n_hyp=$(wc -l < "$WORK/test.hyp.en"); n_ref=$(wc -l < "$RAW/test.en")
[ "$n_hyp" -eq "$n_ref" ] || { echo "error: $n_hyp hypotheses for $n_ref references" >&2; exit 1; }
paste -d '\n' <(head -n 3 "$RAW/test.de") <(head -n 3 "$RAW/test.en") <(head -n 3 "$WORK/test.hyp.en") \
  | awk '{ printf "    %s %s\n", (NR % 3 == 1 ? "src:" : NR % 3 == 2 ? "ref:" : "hyp:"), $0 }'

step "6/6 sacreBLEU (detokenised, case-sensitive) on $n_ref test sentences"
model_bleu=$(sacrebleu "$RAW/test.en" -i "$WORK/test.hyp.en" -b -w 2)
copy_bleu=$(sacrebleu "$RAW/test.en" -i "$RAW/test.de" -b -w 2)
sacrebleu "$RAW/test.en" -i "$WORK/test.hyp.en" -w 2 > "$WORK/bleu.json"
elapsed=$(( $(date +%s) - START ))
cat <<EOF | tee "$WORK/result.txt"

  test BLEU (sacreBLEU)    Lite Transformer ($QS_ARCH): $model_bleu
                           copy-the-source baseline:  $copy_bleu
  total wall time          ${elapsed}s
EOF
