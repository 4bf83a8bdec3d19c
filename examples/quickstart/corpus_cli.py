"""The quickstart corpus from the command line (run.sh calls it; the generator lives in corpus/ beside it).

    python examples/quickstart/corpus_cli.py generate --out DIR [--train N] [--valid N] [--test N] [--seed S]
    python examples/quickstart/corpus_cli.py tok   < raw.txt      > tok.txt
    python examples/quickstart/corpus_cli.py detok < tok.txt      > raw.txt
    python examples/quickstart/corpus_cli.py hyp   < generate.log > hyp.txt

``generate`` writes DIR/{train,valid,test}.{de,en}; ``tok``/``detok`` split punctuation off words and attach it
again; ``hyp`` prints the hypotheses of a fairseq-generate log in sentence order, detokenised.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the corpus package beside this script

from corpus import generate, text  # noqa: E402

COMMANDS = ("generate", "tok", "detok", "hyp")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if not argv or argv[0] not in COMMANDS:
        given = f"got {argv[0]!r}" if argv else "no command given"
        sys.exit(f"usage: corpus_cli.py {{{'|'.join(COMMANDS)}}} ...: {given}; see --help of 'generate' or the "
                 "docstring of examples/quickstart/corpus_cli.py")
    if argv[0] == "generate":
        generate.main(argv[1:])
    else:
        text.main(argv)


if __name__ == "__main__":
    main()
