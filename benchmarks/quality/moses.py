"""sacremoses front-end of the quality benchmark: normalise + tokenise raw text, detokenise hypotheses.

    python benchmarks/quality/moses.py tokenize --raw RAW --out TOK --langs de en
        RAW/{train,valid,test}.L -> TOK/{train,valid,test}.tok.L (punctuation normalised, Moses-tokenised,
        escaping off so that '&' etc. stay as they are)
    python benchmarks/quality/moses.py detok --lang en < tokenised > detokenised
"""

import argparse
import sys

from sacremoses import MosesDetokenizer, MosesPunctNormalizer, MosesTokenizer


def tokenize_line(line, normalizer, tokenizer):
    return tokenizer.tokenize(normalizer.normalize(line.strip()), return_str=True, escape=False,
                              aggressive_dash_splits=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    tok = sub.add_parser("tokenize")
    tok.add_argument("--raw", required=True)
    tok.add_argument("--out", required=True)
    tok.add_argument("--langs", nargs="+", required=True)
    tok.add_argument("--splits", nargs="+", default=["train", "valid", "test"])
    det = sub.add_parser("detok")
    det.add_argument("--lang", required=True)
    args = parser.parse_args(argv)

    if args.cmd == "tokenize":
        for lang in args.langs:
            normalizer, tokenizer = MosesPunctNormalizer(lang=lang), MosesTokenizer(lang=lang)
            for split in args.splits:
                with open(f"{args.raw}/{split}.{lang}", encoding="utf-8") as f, \
                        open(f"{args.out}/{split}.tok.{lang}", "w", encoding="utf-8") as out:
                    for line in f:
                        out.write(tokenize_line(line, normalizer, tokenizer) + "\n")
    else:
        detok = MosesDetokenizer(lang=args.lang)
        for line in sys.stdin:
            sys.stdout.write(detok.detokenize(line.split()) + "\n")


if __name__ == "__main__":
    main()
