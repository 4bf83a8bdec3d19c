"""``lite-fairseq-search``: the hardware-aware search over Lite Transformer designs (HAT over LSRA).

Examples::

    lite-fairseq-search space --out space.json                 # the default design space, to edit
    lite-fairseq-search sample --space space.json -n 3         # random designs and their fairseq-train options
    lite-fairseq-search latency --space space.json --samples 120 --out lat.json   # measure here, fit the predictor
    lite-fairseq-search predictor --measurements lat.json --out lat.pt            # refit from measurements
    lite-fairseq-search evolve --super ckpt/super/checkpoint_last.pt data-bin --predictor lat.pt --latency-limit 40
    lite-fairseq-search extract ...                             # a SubTransformer as a plain lite_transformer
    lite-fairseq-search match --arch transformer_paper_wmt_128 --latency 40 --like lat.pt   # a baseline's width

Bad input (a malformed space, an unreadable predictor or measurements file, a limit no design meets) is answered
with one line naming it, and exit code 2.
"""

import argparse
import json
import math
import random
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

from lite_fairseq.checkpoint_safety import CheckpointLoadError
from lite_fairseq.command_line import report_user_errors
from lite_fairseq.profiler import ProfilerError
from lite_fairseq.profiler.building import vocab_from_data_dir

from . import evolve as evolution
from .errors import SearchError
from . import extract
from .extract import ExtractError
from .features import FEATURES, latency_features
from .latency import Conditions, designs_to_measure, measure, read_measurements, write_measurements
from .matching import match_latency
from .predictor import fit_predictor, load_predictor
from .space import SearchSpace, SearchSpaceError, lite_transformer_args

PROG = "lite-fairseq-search"


def _number(kind, minimum, strict):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected a number {'>' if strict else '>='} {minimum}, got {text}")
        return value
    return parse


positive_int, count, positive_float = _number(int, 0, True), _number(int, 0, False), _number(float, 0.0, True)
fraction = _number(float, 0.0, False)


def _space(path: Optional[str]) -> SearchSpace:
    return SearchSpace.default() if path is None else SearchSpace.from_file(path)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _add_fit_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("latency predictor (HAT's MLP over the architecture encoding)")
    g.add_argument("--holdout", type=fraction, default=0.2, help="share of measurements held out (0.2)")
    g.add_argument("--validation", type=fraction, default=0.15,
                   help="share of the other measurements that picks the training step kept (0.15)")
    g.add_argument("--steps", type=positive_int, default=2000, help="full-batch Adam steps at most (2000)")
    g.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (1e-3)")
    g.add_argument("--fit-seed", type=int, default=1, help="seed of the split and the initial weights (1)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, allow_abbrev=False, description=(
        "Hardware-aware search over Lite Transformer designs (HAT over LSRA): measure latencies on this device, "
        "fit the latency predictor, search a trained SuperTransformer under a latency limit."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("space", help="write (or print) the default design space as JSON, to edit")
    p.add_argument("--out", help="file to write (default: print)")

    p = sub.add_parser("sample", help="print random designs of a space with their fairseq-train options")
    p.add_argument("--space", help="design space file (JSON or YAML; default: the default space)")
    p.add_argument("-n", type=positive_int, default=1, help="how many designs (1)")
    p.add_argument("--seed", type=int, default=1)

    p = sub.add_parser("latency", help="measure sampled designs on this device, then fit the latency predictor")
    p.add_argument("--space", help="design space file (default: the default space)")
    p.add_argument("--samples", type=count, default=120, help="random designs, besides the largest and smallest")
    p.add_argument("--out", required=True, help="measurements file, .json or .csv")
    p.add_argument("--predictor", help="predictor file to write (default: --out with the suffix .pt)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sampled designs (1)")
    _add_condition_options(p)
    _add_fit_options(p)

    p = sub.add_parser("predictor", help="fit the latency predictor on a measurements file")
    p.add_argument("--measurements", required=True, help="file written by `latency` (.json or .csv)")
    p.add_argument("--space", help="the space the measurements come from (default: the one in a .json file, "
                   "else the default space)")
    p.add_argument("--out", required=True, help="predictor file to write")
    _add_fit_options(p)

    p = sub.add_parser("evolve", help="evolutionary search under a latency limit (HAT)")
    p.add_argument("data", metavar="DATA_BIN", help="data-bin directory the SuperTransformer was trained on")
    p.add_argument("--super", required=True, metavar="CKPT", help="SuperTransformer checkpoint")
    p.add_argument("--predictor", required=True, help="latency predictor file (from `latency` or `predictor`)")
    p.add_argument("--latency-limit", type=positive_float, required=True, metavar="MS",
                   help="every candidate's predicted latency stays within this many milliseconds")
    p.add_argument("--out", default="winner.json", help="the winner's design, JSON (winner.json)")
    p.add_argument("--report", help="also write the full report (command, Mult-Adds, latency, history) as JSON")
    p.add_argument("--seed", type=int, default=1)
    s = evolution.EvolutionSettings()
    for name, kind in (("population", positive_int), ("parents", positive_int), ("mutations", count),
                       ("crossovers", count), ("mutation_prob", fraction), ("iterations", positive_int)):
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=getattr(s, name),
                       help=f"HAT's default: {getattr(s, name)}")
    p.add_argument("--valid-batches", type=positive_int, help="validate each candidate on the first N batches only")
    p.add_argument("--valid-subset", default="valid")
    p.add_argument("--max-tokens", type=positive_int, default=4096, help="tokens per validation batch (4096)")
    p.add_argument("--no-measure", action="store_true", help="do not time the winner (predicted latency only)")

    p = sub.add_parser("match", help="scale a baseline architecture's width to a measured latency (the "
                       "hand-designed models a searched design is compared with)")
    p.add_argument("--arch", required=True, help="a registered translation architecture, e.g. "
                   "transformer_paper_wmt_128 or lite_transformer_wmt_200")
    p.add_argument("--latency", type=positive_float, required=True, metavar="MS", help="the target latency")
    p.add_argument("--set", default="", metavar="OPTIONS", help="the model's other fairseq-train options, one "
                   "string (e.g. \"--encoder-layers 3 --share-all-embeddings\"); not the widths, which are matched")
    p.add_argument("--min-width", type=positive_int, default=64, help="narrowest embedding dimension tried (64)")
    p.add_argument("--max-width", type=positive_int, default=1024, help="widest embedding dimension tried (1024)")
    p.add_argument("--multiple-of", type=positive_int, default=8, help="every width tried is a multiple (8)")
    p.add_argument("--like", metavar="FILE", help="measure under the conditions of this latency predictor (.pt) "
                   "or measurements file (.json/.csv); options given here win")
    p.add_argument("--out", help="write the match (options, latency, every width measured) as JSON")
    _add_condition_options(p)

    extract.register(sub)
    return parser


def _add_condition_options(p: argparse.ArgumentParser) -> None:
    d = Conditions()
    g = p.add_argument_group("measuring conditions (as lite-fairseq-profile --latency)")
    g.add_argument("--device", choices=("cpu", "cuda"), help=f"({d.device})")
    g.add_argument("--threads", type=positive_int, help=f"torch.set_num_threads ({d.threads})")
    g.add_argument("--repeats", type=positive_int, help=f"timed runs per design; the median counts ({d.repeats})")
    g.add_argument("--warmup", type=count, help=f"untimed runs first ({d.warmup})")
    g.add_argument("--beam", type=positive_int, help="1: greedy decoding (default), else beam search")
    g.add_argument("--src-len", type=positive_int, help=f"source tokens ({d.src_len})")
    g.add_argument("--tgt-len", type=positive_int, help=f"decoder steps ({d.steps})")
    g.add_argument("--data", help="data-bin directory: vocabulary sizes from its dictionaries")
    g.add_argument("--src-vocab", type=positive_int, help=f"without --data ({d.src_vocab})")
    g.add_argument("--tgt-vocab", type=positive_int, help="without --data (default: --src-vocab)")
    g.add_argument("--cpu-time", action="store_true", default=None, help="time the process's CPU time instead of "
                   "wall time (steadier on a shared machine, with --threads 1)")


def _conditions(opts, base: Conditions) -> Conditions:
    """``base`` with every measuring option the user gave."""
    c = replace(base)
    for option, name in (("device", "device"), ("threads", "threads"), ("repeats", "repeats"), ("warmup", "warmup"),
                         ("beam", "beam"), ("src_len", "src_len"), ("tgt_len", "steps"), ("cpu_time", "cpu_time")):
        if getattr(opts, option) is not None:
            setattr(c, name, getattr(opts, option))
    if opts.data:
        c.src_vocab, c.tgt_vocab = vocab_from_data_dir(opts.data, "translation")
    elif opts.src_vocab is not None:
        c.src_vocab, c.tgt_vocab = opts.src_vocab, opts.tgt_vocab or opts.src_vocab
    elif opts.tgt_vocab is not None:
        c.tgt_vocab = opts.tgt_vocab
    return c


def cmd_space(opts) -> int:
    text = json.dumps(SearchSpace.default().to_dict(), indent=2) + "\n"
    if opts.out:
        Path(opts.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def cmd_sample(opts) -> int:
    space, rng = _space(opts.space), random.Random(opts.seed)
    for _ in range(opts.n):
        cfg = space.sample(rng)
        print(cfg.to_json())
        print("  " + " ".join(lite_transformer_args(cfg, space)))
    return 0


def _fit(measurements, space, conditions, opts):
    predictor = fit_predictor([latency_features(space, m.config) for m in measurements],
                              [m.latency_ms for m in measurements], seed=opts.fit_seed, holdout=opts.holdout,
                              validation=opts.validation, steps=opts.steps, lr=opts.lr, space=space.to_dict(),
                              meta={"conditions": vars(conditions), "features": FEATURES})
    print(predictor.report.summary())
    return predictor


def cmd_latency(opts) -> int:
    space = _space(opts.space)
    if Path(opts.out).suffix.lower() not in (".json", ".csv"):
        raise SearchError(f"--out {opts.out}: the measurements file must end in .json or .csv")
    conditions = _conditions(opts, Conditions())
    designs = designs_to_measure(space, opts.samples, opts.seed)
    _log(f"measuring {len(designs)} designs on {opts.device} ({opts.threads} thread(s), {opts.repeats} repeats)")
    measurements = measure(designs, space, conditions, log=_log)
    write_measurements(opts.out, measurements, space, conditions)
    print(f"wrote {len(measurements)} measurements to {opts.out}")
    predictor_path = opts.predictor or str(Path(opts.out).with_suffix(".pt"))
    _fit(measurements, space, conditions, opts).save(predictor_path)
    print(f"wrote the latency predictor to {predictor_path}")
    return 0


def cmd_predictor(opts) -> int:
    space = None if opts.space is None else SearchSpace.from_file(opts.space)
    measurements, space, conditions = read_measurements(opts.measurements, space)
    _fit(measurements, space, conditions, opts).save(opts.out)
    print(f"wrote the latency predictor to {opts.out}")
    return 0


def _check_inside(space: SearchSpace, super_space: Optional[SearchSpace], opts) -> None:
    """Every choice of the predictor's space must be one of the SuperTransformer's (its weights cover them)."""
    if super_space is None:
        return
    mine, theirs = space.to_dict(), super_space.to_dict()
    for name, value in mine.items():
        inside = set(value) <= set(theirs[name]) if isinstance(value, list) else value == theirs[name]
        if not inside:
            raise SearchError(f"--predictor {opts.predictor}: its design space has {name}={value}, the "
                              f"SuperTransformer {opts.super} has {theirs[name]}; measure the latency of the "
                              "SuperTransformer's space (lite-fairseq-search latency --space SAME_FILE)")


def _warn_on_vocabulary(conditions: Conditions, data: str) -> None:
    try:
        src, tgt = vocab_from_data_dir(data, "translation")
    except ProfilerError:
        return  # fairseq's task read the data; the sizes are only compared here
    if (src, tgt) != (conditions.src_vocab, conditions.tgt_vocab):
        _log(f"warning: the latencies were measured with vocabularies of {conditions.src_vocab}/"
             f"{conditions.tgt_vocab} symbols, {data} has {src}/{tgt}; the winner is measured like the predictor's "
             "data (measure with `latency --data DATA_BIN` to match)")


def cmd_evolve(opts) -> int:
    from .fitness import SuperNetFitness
    from .report import winner_report

    predictor = load_predictor(opts.predictor)
    if not isinstance(predictor.space, dict):
        raise SearchError(f"--predictor {opts.predictor}: holds no design space; fit it again with "
                          "`lite-fairseq-search predictor`")
    space = SearchSpace.from_dict(predictor.space)
    if predictor.meta.get("features") != FEATURES:
        raise SearchError(f"--predictor {opts.predictor}: fitted on other features than this version computes "
                          f"({predictor.meta.get('features')!r}, not {FEATURES!r}); fit it again with "
                          "`lite-fairseq-search predictor --measurements FILE`")
    conditions = Conditions.stored(predictor.meta.get("conditions"))
    settings = evolution.EvolutionSettings(population=opts.population, parents=opts.parents,
                                           mutations=opts.mutations, crossovers=opts.crossovers,
                                           mutation_prob=opts.mutation_prob, iterations=opts.iterations)
    settings.check()
    searcher = evolution.Evolution(space, fitness=lambda cfg: math.nan,
                                   predict_ms=lambda cfg: predictor.predict(latency_features(space, cfg)),
                                   latency_limit_ms=opts.latency_limit, settings=settings, log=_log)
    searcher.check_limit()  # an impossible limit is answered before the checkpoint is loaded
    fitness = SuperNetFitness(opts.super, opts.data, opts.valid_subset, opts.valid_batches, opts.max_tokens)
    _check_inside(space, fitness.space, opts)
    if opts.data:
        _warn_on_vocabulary(conditions, opts.data)
    searcher.fitness_fn = fitness
    searcher.rng = random.Random(opts.seed)
    result = searcher.run()
    best = result.best
    report = winner_report(best.config, space, best.fitness, best.latency_ms, opts.latency_limit, conditions,
                           opts.data, evaluated=result.evaluated, history=result.history,
                           measure_latency=not opts.no_measure)
    Path(opts.out).write_text(best.config.to_json() + "\n", encoding="utf-8")
    if opts.report:
        Path(opts.report).write_text(report.to_json() + "\n", encoding="utf-8")
    print(report.summary())
    print(f"wrote the winner's design to {opts.out}")
    return 0


def _like(path: str) -> Conditions:
    if Path(path).suffix.lower() == ".pt":
        return Conditions.stored(load_predictor(path).meta.get("conditions"))
    return read_measurements(path)[2]


def cmd_match(opts) -> int:
    try:
        overrides = shlex.split(opts.set)
    except ValueError as err:
        raise SearchError(f"--set {opts.set!r}: cannot split it into options ({err})") from None
    conditions = _conditions(opts, _like(opts.like) if opts.like else Conditions())
    _log(f"matching {opts.arch} to {opts.latency:g} ms on {conditions.device} ({conditions.threads} thread(s), "
         f"{conditions.repeats} repeats, vocabularies {conditions.src_vocab}/{conditions.tgt_vocab})")
    match = match_latency(opts.arch, overrides, opts.latency, conditions, opts.min_width, opts.max_width,
                          opts.multiple_of, log=_log)
    for m in sorted(match.measured, key=lambda m: m.width):
        print(f"width {m.width:5d}  {m.latency_ms:8.2f} ms{'  <- match' if m.width == match.width else ''}")
    fitted = "" if match.fitted_ms is None else (f", {match.fitted_ms:.2f} ms on the curve fitted to the "
                                                 f"{len(match.measured)} widths timed")
    print(f"{opts.arch} at width {match.width}: {match.latency_ms:.2f} ms measured{fitted} (target "
          f"{opts.latency:g} ms)")
    print("fairseq-train options: " + " ".join(shlex.quote(a) for a in match.train_args()))
    if opts.out:
        Path(opts.out).write_text(json.dumps(match.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote the match to {opts.out}")
    return 0


COMMANDS = {"space": cmd_space, "sample": cmd_sample, "latency": cmd_latency, "predictor": cmd_predictor,
            "evolve": cmd_evolve, "match": cmd_match}


def run(argv: Optional[List[str]] = None) -> int:
    opts = make_parser().parse_args(argv)
    handler = COMMANDS.get(opts.command) or getattr(opts, "func", None)
    if handler is None:
        raise SearchError(f"{opts.command}: no handler")
    return handler(opts)


USER_ERRORS = (SearchError, SearchSpaceError, ProfilerError, CheckpointLoadError, ExtractError)


def main(argv: Optional[List[str]] = None) -> int:
    return report_user_errors(lambda: run(argv), PROG, USER_ERRORS)


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()

