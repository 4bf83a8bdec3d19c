"""Deployment latency (issue 14): fairseq's eager SequenceGenerator beside the ExecuTorch and onnxruntime exports,
float32 and int8, side by side in one run (the repeats of the engines of an architecture taken in turn; ``--also
NAME=DIR`` adds existing export directories, e.g. an earlier exporter's, as more engines).

For each architecture (untrained, built with :func:`lite_fairseq.profiler.building.build`; latency does not depend
on the weights) it prints

* the latency of translating one ``--src-len``-token sentence with batch 1 and ``--threads`` threads, greedy and
  beam ``--beam``, decoding exactly ``--steps`` tokens (EOS is held back until then and forced there, through the
  same min/max length options on every side, so each engine runs the same number of decoder steps),
* the throughput over ``--sentences`` sentences of lengths 10..40 (greedy, as many steps as source tokens),
* Mult-Adds per second (the profiler's count for a src-len -> steps greedy translation, output projection
  included as the issue asks, over the greedy latency),
* the size of the exported programs.

``--pairs LITE=TRANSFORMER`` times the two architectures of a pair together (every engine of both in one loop of
rounds) and prints, per engine, Lite's Mult-Adds/s over the Transformer's as the median of the rounds' ratios, with
their range. Use it for that ratio: on a machine whose speed drifts from one minute to the next, architectures timed
one after the other compare the minutes as much as the models.

With ``--bleu-checkpoint`` (and ``--bleu-data``, ``--bleu-src``, ``--bleu-ref``: BPE-ed source and plain reference
lines) it also decodes a test set with each export, float32 and int8, and prints BLEU (sacrebleu, BPE removed).
Timings are printed, never asserted; on a shared machine say so beside them, or time with ``--cpu-time`` (the
process's CPU time: with one thread it is the work done, not the wait for a core).

    python benchmarks/deploy_latency.py --archs lite_transformer_wmt_200 transformer_paper_wmt_128 --repeats 5
    python benchmarks/deploy_latency.py --pairs lite_transformer_wmt_496=transformer_paper_wmt_320 --repeats 9
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.deploy import export as exporter  # noqa: E402
from lite_fairseq.deploy.adapter import read_model  # noqa: E402
from lite_fairseq.deploy.runtime import Translator  # noqa: E402
from lite_fairseq.profiler.building import ProfilerError, build, infer_task  # noqa: E402
from lite_fairseq.profiler.latency import PAPER_BUDGET_PAIRS, describe_ratios, executed_macs, round_ratios  # noqa: E402

from generate_throughput import parse_pair  # noqa: E402  (benchmarks/, beside this script)

DEFAULT_ARCHS = [arch for pair in PAPER_BUDGET_PAIRS for arch in pair]
ENGINES = ("executorch", "onnx")
clock = time.perf_counter  # time.process_time with --cpu-time


def _interleaved_ms(fns: Dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> Dict[str, List[float]]:
    """The ms of every repeat of each function, the repeats taken in turn (one of each, then the next round), so that
    a change in the machine's load reaches every engine alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        # every other round reversed: no engine always follows the same one (caches, the eager run's allocations)
        for name in names if r % 2 == 0 else names[::-1]:
            start = clock()
            fns[name]()
            times[name].append((clock() - start) * 1e3)
    return times


def _sources(vocab: int, lengths: List[int], eos: int, seed: int = 0) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.array([list(rng.integers(4, vocab, n - 1)) + [eos]], dtype=np.int64) for n in lengths]


class Eager:
    """fairseq's SequenceGenerator in-process, what fairseq-generate runs (batch 1 here, like the runtimes)."""

    def __init__(self, built, beam: int, steps: int):
        from fairseq.sequence_generator import SequenceGenerator

        self.model = built.model
        self.gen = SequenceGenerator([built.model], built.tgt_dict, beam_size=beam, max_len_a=0, max_len_b=steps,
                                     min_len=steps)

    def __call__(self, src: np.ndarray):
        tokens = torch.from_numpy(src)
        sample = {"net_input": {"src_tokens": tokens, "src_lengths": torch.tensor([tokens.size(1)])}}
        with torch.inference_mode():
            return self.gen.generate([self.model], sample)


def _variants(args):
    """(engine name, format, int8, onnx int8 recipe) of every export to time."""
    for fmt in args.formats:
        yield fmt, fmt, False, None
        recipes = args.onnx_int8_recipes if fmt == "onnx" else [None]
        for recipe in recipes:
            name = f"{fmt} int8" + (f" {recipe}" if recipe and len(recipes) > 1 else "")
            yield name, fmt, True, recipe


def _export_engines(built, args, workdir: str) -> Dict[str, Translator]:
    spec = read_model(built.model, built.args)
    engines = {}
    for name, fmt, int8, recipe in _variants(args):
        if args.engines and name not in args.engines:
            continue
        out = os.path.join(workdir, built.arch, name.replace(" ", "_"))
        if args.reuse and os.path.isfile(os.path.join(out, "manifest.json")):
            engines[name] = Translator(out, threads=args.threads)
            continue
        try:
            exporter.export(spec, built.src_dict, built.tgt_dict, out, fmt, int8=int8,
                            max_target_len=max(args.steps, 40) + 2, max_batch=max(args.beam, 2), int8_recipe=recipe)
            engines[name] = Translator(out, threads=args.threads)
        except Exception as err:  # noqa: BLE001  (report the engine that failed and carry on)
            print(f"  {built.arch}: {name} export failed: {type(err).__name__}: {err}", flush=True)
    return engines


def _named_dir(text: str):
    name, sep, directory = text.partition("=")
    if not sep or not name or not os.path.isfile(os.path.join(directory, "manifest.json")):
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=DIR, DIR an export directory with a manifest.json")
    return name, directory


def _program_mb(translator: Translator) -> float:
    return sum(p["bytes"] for p in translator.manifest["programs"].values()) / 1e6


class Bench:
    """One architecture's engines, ready to time: ``runners[name](beam, steps)`` makes a function of a source."""

    def __init__(self, arch: str, args, workdir: str):
        self.arch = arch
        built = build(arch, (), src_vocab=args.vocab)
        self.macs = executed_macs(built, args.src_len, args.steps, hypotheses=1)
        # the exports project a sentence's encoder keys once for all hypotheses; eager as the model does itself
        self.beam_macs = {"fairseq eager": executed_macs(built, args.src_len, args.steps, hypotheses=args.beam)}
        export_beam_macs = executed_macs(built, args.src_len, args.steps, hypotheses=args.beam, shared_keys=True)
        torch.set_num_threads(args.threads)
        eos = built.tgt_dict.eos()
        self.one = _sources(args.vocab, [args.src_len], eos)[0]
        self.many = _sources(args.vocab, [10 + (7 * i) % 31 for i in range(args.sentences)], eos, seed=1)
        self.runners = {} if args.no_eager else {"fairseq eager": lambda beam, steps: Eager(built, beam, steps)}
        translators = _export_engines(built, args, workdir)
        for name, directory in args.also:
            tr = Translator(directory, threads=args.threads)
            if tr.manifest["arch"] == arch:
                translators[name] = tr
        for name, tr in translators.items():
            self.runners[name] = (lambda t: lambda beam, steps: (
                lambda src: t.search(src, beam=beam, max_len_a=0, max_len_b=steps, min_len=steps)))(tr)
            self.runners[name].size = _program_mb(tr)
            self.beam_macs[name] = export_beam_macs


def time_benches(benches: List[Bench], args) -> Dict[str, Dict[str, List[float]]]:
    """Greedy and beam latency of every engine of every bench, all taken in turn in one loop, and throughput."""
    fns = {(b.arch, n): (lambda m=m, b=b: m(1, args.steps)(b.one)) for b in benches for n, m in b.runners.items()}
    greedy = _interleaved_ms(fns, args.repeats)
    fns = {(b.arch, n): (lambda m=m, b=b: m(args.beam, args.steps)(b.one)) for b in benches
           for n, m in b.runners.items()}
    beam = _interleaved_ms(fns, args.repeats)
    throughput = {}
    names = list(dict.fromkeys(n for b in benches for n in b.runners))  # an export may have failed for one bench
    for name in names:  # engine by engine, the benches' runs one after the other
        for b in benches:
            if name in b.runners:
                start = clock()
                for src in b.many:
                    b.runners[name](1, src.shape[1])(src)
                throughput[b.arch, name] = sum(s.shape[1] for s in b.many) / (clock() - start)
    return {"greedy": greedy, "beam": beam, "throughput": throughput}


def rows_of(bench: Bench, timed) -> List[str]:
    rows = []
    for name, make in bench.runners.items():
        size = getattr(make, "size", None)
        greedy, beam = (statistics.median(timed[k][bench.arch, name]) for k in ("greedy", "beam"))
        rows.append(f"  {bench.arch:<28}{name:<18}{greedy:>10.1f}{beam:>12.1f}"
                    f"{timed['throughput'][bench.arch, name]:>12.0f}"
                    f"{bench.macs / (greedy / 1e3) / 1e9:>12.2f}{'' if size is None else f'{size:>10.1f}':>10}")
    return rows


def pair_rows(lite: Bench, tr: Bench, timed, beam: int) -> List[str]:
    """Per engine: Lite/Transformer Mult-Adds/s, the median (min-max) of the rounds' paired ratios."""
    rows = [f"  {lite.arch} / {tr.arch}: Lite/Transformer Mult-Adds/s, median (min-max) of the rounds' ratios"]
    for name in lite.runners:
        if name not in tr.runners:
            continue
        cells = []
        for key, label, lite_macs, tr_macs in (("greedy", "greedy", lite.macs, tr.macs),
                                               ("beam", f"beam {beam}", lite.beam_macs[name], tr.beam_macs[name])):
            r = round_ratios(timed[key][lite.arch, name], lite_macs, timed[key][tr.arch, name], tr_macs)
            cells.append(f"{label} {describe_ratios(r)}")
        rows.append(f"    {name:<18}" + "   ".join(cells))
    return rows


def bleu_rows(args, workdir: str) -> List[str]:
    import sacrebleu

    model, model_args, task = exporter.load_checkpoint(args.bleu_checkpoint, args.bleu_data)
    spec = read_model(model, model_args)
    sources = open(args.bleu_src, encoding="utf-8").read().splitlines()[: args.bleu_lines]
    refs = open(args.bleu_ref, encoding="utf-8").read().splitlines()[: args.bleu_lines]
    rows = []
    for fmt in args.formats:
        for int8 in (False, True):
            out = os.path.join(workdir, "bleu", f"{fmt}_{int(int8)}")
            exporter.export(spec, task.source_dictionary, task.target_dictionary, out, fmt, int8=int8,
                            max_target_len=256)
            tr = Translator(out, threads=args.threads)
            hyps = [tr.translate(s, beam=args.beam, max_len_a=1.2, max_len_b=10).replace("@@ ", "")
                    for s in sources]
            bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
            rows.append(f"  {fmt:<12}{'int8' if int8 else 'float32':<10}{bleu:>8.2f}{_program_mb(tr):>10.1f}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="*", default=None,
                        help="architectures timed one at a time (default: the paper's WMT pairs, unless --pairs is "
                             "given; none: only the BLEU comparison)")
    parser.add_argument("--pairs", nargs="+", default=[], type=parse_pair, metavar="LITE=TRANSFORMER",
                        help="time both architectures of each pair together, every engine of both taken in turn in "
                             "one loop, and print Lite/Transformer Mult-Adds/s per engine as the median of the "
                             "rounds' ratios (a machine whose speed drifts between minutes skews ratios of "
                             "architectures timed one after the other)")
    parser.add_argument("--formats", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--src-len", type=int, default=30)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process's CPU time (steadier on a loaded machine with --threads 1)")
    parser.add_argument("--workdir", default=None, help="where the exports go (default: a temporary directory)")
    parser.add_argument("--engines", nargs="+", default=None,
                        help="only these exports, e.g. onnx 'onnx int8' executorch (default: every format, float32 "
                             "and int8, and every --onnx-int8-recipes)")
    parser.add_argument("--onnx-int8-recipes", nargs="+", default=[None], metavar="RECIPE",
                        choices=sorted(exporter.backends.ONNX_INT8_RECIPES),
                        help="time these onnxruntime int8 recipes side by side (engines 'onnx int8 RECIPE'; "
                             "default: the exporter's default recipe only, engine 'onnx int8')")
    parser.add_argument("--reuse", action="store_true",
                        help="decode with the exports already in --workdir instead of exporting again")
    parser.add_argument("--no-eager", action="store_true", help="leave fairseq's eager decoding out")
    parser.add_argument("--also", nargs="+", default=[], type=_named_dir, metavar="NAME=DIR",
                        help="also time these existing export directories (e.g. made by an earlier version of the "
                             "exporter), each beside the architecture its manifest names, as engine NAME")
    parser.add_argument("--bleu-checkpoint")
    parser.add_argument("--bleu-data")
    parser.add_argument("--bleu-src")
    parser.add_argument("--bleu-ref")
    parser.add_argument("--bleu-lines", type=int, default=200)
    args = parser.parse_args(argv)
    if args.archs is None:
        args.archs = [] if args.pairs else DEFAULT_ARCHS
    global clock
    clock = time.process_time if args.cpu_time else time.perf_counter
    exporter.quiet_exporters()
    workdir = args.workdir or tempfile.mkdtemp(prefix="deploy_latency_")
    print(f"batch 1, {args.threads} thread(s), {args.src_len}-token source, {args.steps} decoder steps, "
          f"vocabulary {args.vocab}, median of {args.repeats}; throughput: {args.sentences} sentences of 10-40 "
          f"tokens, greedy; {'CPU' if args.cpu_time else 'wall'} time; torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'architecture':<28}{'engine':<18}{'greedy ms':>10}{f'beam-{args.beam} ms':>12}{'tokens/s':>12}"
          f"{'GMACs/s':>12}{'MB':>10}")
    for arch in args.archs + [a for pair in args.pairs for a in pair]:
        try:
            infer_task(arch)
        except ProfilerError as err:
            parser.error(str(err).replace("(--list-archs", "(lite-fairseq-profile --list-archs"))
    for arch in args.archs:
        bench = Bench(arch, args, workdir)
        for row in rows_of(bench, time_benches([bench], args)):
            print(row, flush=True)
    for lite_arch, tr_arch in args.pairs:
        lite, tr = Bench(lite_arch, args, workdir), Bench(tr_arch, args, workdir)
        timed = time_benches([lite, tr], args)
        for row in rows_of(lite, timed) + rows_of(tr, timed) + pair_rows(lite, tr, timed, args.beam):
            print(row, flush=True)
    if args.bleu_checkpoint:
        print(f"BLEU of the exports ({args.bleu_lines} lines, beam {args.beam}, BPE removed, sacrebleu)")
        print(f"  {'format':<12}{'weights':<10}{'BLEU':>8}{'MB':>10}")
        for row in bleu_rows(args, workdir):
            print(row, flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
