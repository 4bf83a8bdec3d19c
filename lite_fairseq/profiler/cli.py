"""``lite-fairseq-profile``: Mult-Adds and #Params of any registered fairseq architecture, and CPU latency.

Examples::

    lite-fairseq-profile --arch lite_transformer_wmt_200
    lite-fairseq-profile --arch lite_transformer --encoder-embed-dim 256 --decoder-embed-dim 256 --json
    lite-fairseq-profile --arch transformer_paper_iwslt_128 --data data-bin/iwslt14.tokenized.de-en
    lite-fairseq-profile --arch transformer_lm --tgt-len 30
    lite-fairseq-profile --latency             # the three paper budgets, Lite vs Transformer
    lite-fairseq-profile --latency --arch lite_transformer_wmt_200 --baseline-arch transformer_paper_wmt_128

Every word the profiler does not know is a model override, in fairseq's own form (``--encoder-layers 4``).
"""

import argparse
import json
import sys
from typing import List, Optional

from lite_fairseq.command_line import report_user_errors

from .building import ProfilerError, architectures
from .counting import DECODER_MODES, PAPER_SRC_LEN, PAPER_TGT_LEN, profile
from .latency import PAPER_BUDGET_PAIRS, format_latency, measure_pairs, results_to_dict
from .report import format_json, format_table

PROG = "lite-fairseq-profile"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="Count Mult-Adds and parameters of a registered fairseq architecture (the Lite Transformer "
                    "paper's convention: embeddings and output projection excluded from Mult-Adds, attention "
                    "products included), or time CPU translation latency. Unknown options are model overrides "
                    "in fairseq's form, e.g. --encoder-embed-dim 256.")
    p.add_argument("--arch", "-a", help="registered fairseq architecture (ours or fairseq's own)")
    p.add_argument("--list-archs", action="store_true", help="print the registered architectures and exit")
    p.add_argument("--src-vocab", type=_positive_int, help="source vocabulary size (default 10000)")
    p.add_argument("--tgt-vocab", type=_positive_int, help="target vocabulary size (default: the source's)")
    p.add_argument("--data", metavar="DIR", help="fairseq data-bin directory: vocabulary sizes from its dict.*.txt")
    p.add_argument("--source-lang", help="source language of --data (inferred from its file names if omitted)")
    p.add_argument("--target-lang", help="target language of --data")
    p.add_argument("--src-len", type=_positive_int, default=PAPER_SRC_LEN, help="source tokens (default 30)")
    p.add_argument("--tgt-len", type=_positive_int, default=PAPER_TGT_LEN,
                   help="target tokens, or the tokens a language model runs over (default 30)")
    p.add_argument("--decoder-mode", choices=DECODER_MODES, default="full",
                   help="full: one teacher-forced decoder pass (default); incremental: tgt-len single steps")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    lat = p.add_argument_group("latency (--latency)")
    lat.add_argument("--latency", action="store_true",
                     help="time translating one sentence on this CPU, Lite vs the Transformer of equal Mult-Adds "
                          "(default: the paper's three WMT budgets), with the Mult-Adds executed per second "
                          "(output projection included) and their Lite/Transformer ratio")
    lat.add_argument("--baseline-arch", help="baseline to time beside --arch")
    lat.add_argument("--beam", type=_positive_int, default=4, help="beam size of the beam-search timing (4)")
    lat.add_argument("--repeats", type=_positive_int, default=15, help="timed runs per figure; the median is shown")
    lat.add_argument("--warmup", type=int, default=3, help="untimed runs first (3)")
    lat.add_argument("--threads", type=_positive_int, default=1, help="torch.set_num_threads (default 1)")
    lat.add_argument("--cpu-time", action="store_true",
                     help="time with the process's CPU time instead of wall time: steadier when other jobs load the "
                          "machine (with --threads 1 it is the work done, not the wait for a core)")
    return p


def run(argv: Optional[List[str]] = None) -> int:
    parser = make_parser()
    opts, overrides = parser.parse_known_args(argv)
    if opts.list_archs:
        print("\n".join(architectures()))
        return 0
    if opts.latency:
        if opts.arch is None and overrides:
            raise ProfilerError(f"model overrides {' '.join(overrides)} need --arch")
        if (opts.arch is None) != (opts.baseline_arch is None):
            raise ProfilerError("--latency: give both --arch and --baseline-arch, or neither (the paper's budgets)")
        pairs = PAPER_BUDGET_PAIRS if opts.arch is None else ((opts.arch, opts.baseline_arch),)
        results = measure_pairs(pairs, overrides, src_vocab=opts.src_vocab, tgt_vocab=opts.tgt_vocab,
                                src_len=opts.src_len, steps=opts.tgt_len, beam=opts.beam, repeats=opts.repeats,
                                warmup=opts.warmup, threads=opts.threads, cpu_time=opts.cpu_time)
        if opts.json:
            print(json.dumps(results_to_dict(results), indent=2))
        else:
            print(format_latency(results, opts.beam, opts.threads, opts.repeats, opts.src_len, opts.tgt_len,
                                 opts.cpu_time))
        return 0
    if opts.arch is None:
        raise ProfilerError("--arch is required (--list-archs prints the registered architectures)")
    if opts.baseline_arch is not None:
        raise ProfilerError("--baseline-arch is only used with --latency")
    result = profile(opts.arch, overrides, src_vocab=opts.src_vocab, tgt_vocab=opts.tgt_vocab,
                     src_len=opts.src_len, tgt_len=opts.tgt_len, decoder_mode=opts.decoder_mode, data=opts.data,
                     source_lang=opts.source_lang, target_lang=opts.target_lang)
    print(format_json(result) if opts.json else format_table(result))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return report_user_errors(lambda: run(argv), PROG, (ProfilerError,))


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
