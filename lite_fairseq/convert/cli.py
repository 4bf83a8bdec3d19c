"""``lite-fairseq-convert`` (also ``python -m lite_fairseq.convert``): the command line of the converter."""

import argparse
import os
import shlex
import sys
from typing import Optional, Sequence

from lite_fairseq.checkpoint_safety import CheckpointLoadError

from .checkpoint import PADDING_NOTE, convert_file
from .errors import ConversionError


def cli_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lite-fairseq-convert",
        description="Convert a checkpoint of the authors' transformer_multibranch_v2 (mit-han-lab/lite-transformer) "
                    "into a lite_transformer checkpoint for fairseq-generate --user-dir lite_fairseq.")
    parser.add_argument("checkpoint", help="the authors' checkpoint (.pt)")
    parser.add_argument("output", nargs="?", help="where to write the converted checkpoint")
    parser.add_argument("--print-options", action="store_true",
                        help="print the equivalent lite_transformer command-line options")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    args = parser.parse_args(argv)
    if args.output is None and not args.print_options:
        parser.error("give OUTPUT, or --print-options to only show the equivalent options")
    if args.output is not None:
        if os.path.abspath(args.output) == os.path.abspath(args.checkpoint):
            parser.error("OUTPUT must differ from the input checkpoint")
        if os.path.exists(args.output) and not args.overwrite:
            parser.error(f"{args.output} exists; pass --overwrite to replace it")
    try:
        model_options = convert_file(args.checkpoint, args.output)
    except (ConversionError, CheckpointLoadError, FileNotFoundError) as e:
        print(f"lite-fairseq-convert: error: {e}", file=sys.stderr)
        return 2
    if args.print_options:
        print(shlex.join(model_options))
    if args.output is not None:
        print(f"wrote {args.output} (lite_transformer); note: {PADDING_NOTE}", file=sys.stderr)
    return 0


def console_main() -> None:
    """Entry point of the ``lite-fairseq-convert`` console script."""
    sys.exit(cli_main())

