"""Normalise CNN/DailyMail text before BPE, one document a line, as the standard pre-processing (See et al., 2017)
does: tokenise (Moses, via sacremoses; skip for already tokenised text), lowercase, and cut articles to their first
400 tokens.

    python examples/cnn_dm/normalize.py [--tokenize] [--lowercase] [--max-tokens 400] < in > out

Empty lines are kept (as a lone "." so fairseq-preprocess keeps the line count aligned) and reported on stderr.
"""

import argparse
import sys


def build_normaliser(tokenize: bool, lowercase: bool, max_tokens: int):
    moses = None
    if tokenize:
        try:
            from sacremoses import MosesTokenizer
        except ImportError:  # pragma: no cover - depends on the environment
            sys.exit("error: --tokenize needs sacremoses (pip install sacremoses==0.2.0), or pass already "
                     "tokenised text without --tokenize")
        moses = MosesTokenizer(lang="en")

    def normalise(line: str) -> str:
        text = " ".join(line.split())  # also folds tabs and odd whitespace
        if moses is not None and text:
            text = moses.tokenize(text, escape=False, return_str=True)
        if lowercase:
            text = text.lower()
        words = text.split()
        if max_tokens > 0:
            words = words[:max_tokens]
        return " ".join(words)

    return normalise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenize", action="store_true", help="Moses-tokenise (for raw, untokenised text)")
    parser.add_argument("--lowercase", action="store_true", help="lowercase everything")
    parser.add_argument("--max-tokens", type=int, default=0, help="keep the first N tokens of each line (0: all)")
    args = parser.parse_args(argv)
    if args.max_tokens < 0:
        parser.error(f"--max-tokens must be 0 (no limit) or positive, got {args.max_tokens}")
    normalise = build_normaliser(args.tokenize, args.lowercase, args.max_tokens)
    empty = 0
    for line in sys.stdin:
        out = normalise(line)
        if not out:
            empty += 1
            out = "."
        sys.stdout.write(out + "\n")
    if empty:
        print(f"warning: {empty} empty line(s) kept as '.'", file=sys.stderr)


if __name__ == "__main__":
    main()
