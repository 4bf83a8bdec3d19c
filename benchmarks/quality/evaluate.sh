#!/usr/bin/env bash
# Translate the test set with one trained model of the quality benchmark and score it with sacreBLEU.
#
#   bash benchmarks/quality/evaluate.sh MODEL [SEED]
#
# Uses WORK_DIR/runs/MODEL.sSEED/checkpoints/checkpoint_last.pt (WORK_DIR: $QUALITY_OUT, default
# ./work_dirs/quality): fairseq-generate with beam search (--remove-bpe), Moses detokenisation (sacremoses),
# sacreBLEU (default 13a tokenisation, case-sensitive) against the untokenised references prepare.sh kept.
# Writes generate.out (fairseq-generate's output; its log in generate.log), test.hyp (detokenised), bleu.json and valid.txt (the best and last valid loss) in the run.
# Knobs: QUALITY_BEAM [4]  QUALITY_LENPEN [1.0]  QUALITY_GPU [0]  PYTHON [python]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python}"
MODEL="${1:?usage: evaluate.sh MODEL [SEED]}"
SEED="${2:-1}"
WORK="${QUALITY_OUT:-work_dirs/quality}"
BEAM="${QUALITY_BEAM:-4}"
LENPEN="${QUALITY_LENPEN:-1.0}"
SRC="${QUALITY_SRC:-de}"; TGT="${QUALITY_TGT:-en}"
DEVICE_OPT="--cpu"; [ "${QUALITY_GPU:-0}" = 1 ] && DEVICE_OPT=""
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
RUN="$WORK/runs/$MODEL.s$SEED"
CKPT="$RUN/checkpoints/checkpoint_last.pt"
[ -f "$CKPT" ] || { echo "error: $CKPT not found: train it first (train.sh $MODEL $SEED)" >&2; exit 1; }
[ -f "$WORK/test.raw.$TGT" ] || { echo "error: $WORK/test.raw.$TGT not found: run prepare.sh first" >&2; exit 1; }

fairseq-generate "$WORK/data-bin" --user-dir "$REPO/lite_fairseq" --path "$CKPT" --gen-subset test \
  --source-lang "$SRC" --target-lang "$TGT" --beam "$BEAM" --lenpen "$LENPEN" --max-len-a 1.2 --max-len-b 10 --batch-size 128 \
  --remove-bpe --num-workers 0 --no-progress-bar $DEVICE_OPT > "$RUN/generate.out" 2> "$RUN/generate.log" \
  || { tail -n 20 "$RUN/generate.log" >&2; exit 1; }
# H-<id>\t<score>\t<hypothesis>, in corpus order by id
grep -P '^H-\d+\t' "$RUN/generate.out" | sed 's/^H-//' | sort -n -k1,1 | cut -f3 \
  | "$PYTHON" "$HERE/moses.py" detok --lang "$TGT" > "$RUN/test.hyp"
n_hyp=$(wc -l < "$RUN/test.hyp"); n_ref=$(wc -l < "$WORK/test.raw.$TGT")
[ "$n_hyp" -eq "$n_ref" ] || { echo "error: $n_hyp hypotheses for $n_ref references" >&2; exit 1; }
sacrebleu "$WORK/test.raw.$TGT" -i "$RUN/test.hyp" -w 2 > "$RUN/bleu.json"
# valid loss (label-smoothed, base 2) of the last validation, and the best one
"$PYTHON" - "$RUN/train.log" > "$RUN/valid.txt" <<'PY'
import re, sys
losses = [(int(m.group(2)), float(m.group(1))) for m in
          re.finditer(r"\| valid on 'valid' subset \| loss ([\d.]+) .*?num_updates (\d+)", open(sys.argv[1]).read())]
if not losses:
    sys.exit("error: no validation in " + sys.argv[1])
print(f"valid_loss_last={losses[-1][1]}\nvalid_updates_last={losses[-1][0]}\nvalid_loss_best={min(l for _, l in losses)}")
PY
echo "$MODEL seed $SEED: $(grep -o '"score": [0-9.]*' "$RUN/bleu.json") ($(head -1 "$RUN/valid.txt"))"
