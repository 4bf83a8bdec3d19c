"""Tokenisation for the quickstart corpus, reversible on its sentences.

    python examples/quickstart/corpus_cli.py tok   < raw.txt  > tok.txt
    python examples/quickstart/corpus_cli.py detok < tok.txt  > raw.txt
    python examples/quickstart/corpus_cli.py hyp   < generate.log > hyp.txt   # H- lines, by id, detokenised

The corpus uses only the punctuation marks , . ? ! so splitting them off words is enough;
detokenisation attaches them to the word before again.
"""

import re
import sys

_TOK = re.compile(r"([,.?!])")
_PUNCT = re.compile(r"\s+([,.?!])")


def tokenize(line):
    """Split the punctuation marks , . ? ! off the words; collapse whitespace."""
    return " ".join(_TOK.sub(r" \1 ", line).split())


def detokenize(line):
    """Inverse of tokenize on corpus sentences: punctuation attaches to the word before it."""
    return _PUNCT.sub(r"\1", " ".join(line.split()))


def hypotheses(lines):
    """The hypotheses of a fairseq-generate log (lines ``H-<id>\\t<score>\\t<text>``), ordered by id."""
    hyps = {}
    for line in lines:
        if line.startswith("H-"):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError(f"malformed hypothesis line: {line!r}")
            hyps[int(fields[0][2:])] = fields[2] if len(fields) > 2 else ""
    if hyps and sorted(hyps) != list(range(len(hyps))):
        missing = sorted(set(range(max(hyps) + 1)) - set(hyps))[:5]
        raise ValueError(f"hypotheses missing for ids {missing} (of {max(hyps) + 1})")
    return [hyps[i] for i in range(len(hyps))]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("tok", "detok", "hyp"):
        sys.exit("usage: corpus_cli.py {tok|detok|hyp} < input > output")
    if argv[0] == "hyp":
        for h in hypotheses(sys.stdin):
            sys.stdout.write(detokenize(h) + "\n")
        return
    fn = tokenize if argv[0] == "tok" else detokenize
    for line in sys.stdin:
        sys.stdout.write(fn(line) + "\n")

