"""ROUGE-1, ROUGE-2 and ROUGE-L F1 of system summaries against references, with Google's rouge-score package
(a maintained re-implementation of ROUGE-1.5.5; Porter stemming on, like ``ROUGE-1.5.5 -m`` / files2rouge).

    python -m lite_fairseq.scoring.rouge HYPOTHESES REFERENCES [--no-stemmer] [--json]

Both files hold one summary a line, line n of one matching line n of the other. Scores are F1 x 100 averaged over
the summaries. ROUGE-L is computed on each summary as one sequence; ROUGE-Lsum (summary-level LCS, what most
CNN/DailyMail papers report as ROUGE-L) splits each summary into sentences after ".", "!" or "?" followed by a space,
which is where tokenised text ends its sentences.
"""

import argparse
import json
import re
import sys
from typing import Dict, List, Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class RougeInputError(ValueError):
    """The inputs cannot be scored (counts differ, nothing to score); the message says which file and why."""


def split_sentences(text: str) -> str:
    """One sentence a line, for ROUGE-Lsum."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


def _scorer(use_stemmer: bool):
    try:
        from rouge_score import rouge_scorer
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("ROUGE scoring needs the rouge-score package: pip install rouge-score==0.1.2") from None
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)


def rouge_scores(hypotheses: Sequence[str], references: Sequence[str], use_stemmer: bool = True) -> Dict[str, float]:
    """Mean F1 x 100 of each ROUGE type over paired summaries."""
    if len(hypotheses) != len(references):
        raise RougeInputError(f"{len(hypotheses)} hypotheses but {len(references)} references; they must pair up "
                              "one a line")
    if not hypotheses:
        raise RougeInputError("no summaries to score")
    scorer = _scorer(use_stemmer)
    totals = {t: 0.0 for t in ROUGE_TYPES}
    for hyp, ref in zip(hypotheses, references):
        scores = scorer.score(split_sentences(ref), split_sentences(hyp))  # score(target, prediction)
        for t in ROUGE_TYPES:
            totals[t] += scores[t].fmeasure
    return {t: 100.0 * totals[t] / len(hypotheses) for t in ROUGE_TYPES}


def read_lines(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    except OSError as e:
        raise RougeInputError(f"cannot read {path}: {e.strerror}") from None


def score_files(hyp_path: str, ref_path: str, use_stemmer: bool = True) -> Dict[str, float]:
    hyps, refs = read_lines(hyp_path), read_lines(ref_path)
    if len(hyps) != len(refs):
        raise RougeInputError(f"{hyp_path} has {len(hyps)} lines but {ref_path} has {len(refs)}; they must pair up "
                              "one summary a line")
    return rouge_scores(hyps, refs, use_stemmer)


def format_scores(scores: Dict[str, float], n: int) -> str:
    parts = "  ".join(f"{NAMES[t]} {scores[t]:.2f}" for t in ROUGE_TYPES)
    return f"{parts}  (F1 x 100, {n} summaries)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lite_fairseq.scoring.rouge",
                                     description="ROUGE-1/2/L F1 of summaries (rouge-score)")
    parser.add_argument("hypotheses", help="system summaries, one a line")
    parser.add_argument("references", help="reference summaries, one a line, same order")
    parser.add_argument("--no-stemmer", action="store_true", help="do not Porter-stem words before matching")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)
    try:
        scores = score_files(args.hypotheses, args.references, use_stemmer=not args.no_stemmer)
    except RougeInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({NAMES[t]: round(v, 4) for t, v in scores.items()}))
    else:
        print(format_scores(scores, len(read_lines(args.hypotheses))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
