"""Helpers of benchmarks/search_ddtp/run.sh, and its summary.

    python summarise.py timed COST_FILE -- CMD ...   run CMD, add its CPU seconds (user + system) to COST_FILE
    python summarise.py limits LAT_JSON              two latency limits: the 50% and 80% quantiles of the designs
    python summarise.py args LIMIT_DIR MODEL         fairseq-train model options of found | lite | transformer
    python summarise.py report --work W --limits "A B" --seeds "1 2" --out summary.md [--png plot.png]

`report` builds the three designs of each limit (the search's winner and the two matched baselines), times them
side by side (interleaved, under the latency predictor's measuring conditions, more repeats), counts their
Mult-Adds and parameters with the profiler, reads each run's test BLEU (evaluate.sh's bleu.json) and train time,
adds up the search's CPU seconds, and writes a Markdown summary and a latency-vs-BLEU plot. Figures are read or
measured, never assumed.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys

MODELS = ("found", "lite", "transformer")
COSTS = (("super", "SuperTransformer training"), ("latency", "latency measurements and predictor"),
         ("search", "evolutionary searches (all limits)"))


def cmd_timed(cost_file, command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = subprocess.call(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(cost_file, "a") as f:
        f.write(f"{seconds:.1f}\n")
    return rc


def cmd_limits(lat_json):
    latencies = sorted(m["latency_ms"] for m in json.load(open(lat_json))["measurements"])
    if len(latencies) < 4:
        sys.exit(f"error: {lat_json} holds {len(latencies)} measurements; set SEARCH_LIMITS explicitly")
    q = statistics.quantiles(latencies, n=10)
    print(f"{q[4]:.1f} {q[7]:.1f}")
    return 0


def model_args(limit_dir, model):
    """``["--arch", ...]`` of one design of a limit."""
    if model == "found":
        from lite_fairseq.search.latency import arch_and_overrides
        from lite_fairseq.search.space import SearchSpace, SubConfig

        space = SearchSpace.from_dict(json.load(open(os.path.join(limit_dir, "..", "lat.json")))["space"])
        sub = SubConfig.from_dict(json.load(open(os.path.join(limit_dir, "winner.json"))))
        arch, overrides = arch_and_overrides(sub, space)
        return ["--arch", arch, *overrides]
    if model not in MODELS:
        sys.exit(f"error: model {model!r}: expected one of {', '.join(MODELS)}")
    match = json.load(open(os.path.join(limit_dir, f"{model}.match.json")))
    return ["--arch", match["arch"], *match["overrides"]]


def _kv(path):
    out = {}
    if os.path.isfile(path):
        for line in open(path):
            key, sep, value = line.strip().partition("=")
            if sep:
                out[key] = value
    return out


def _updates(run_dir):
    """The last update count fairseq-train logged (train.sh's wall-clock cap may stop a run short)."""
    path = os.path.join(run_dir, "train.log")
    found = re.findall(r"num_updates[= ](\d+)", open(path).read()) if os.path.isfile(path) else []
    return int(found[-1]) if found else None


def _bleu(run_dir):
    path = os.path.join(run_dir, "bleu.json")
    return json.load(open(path))["score"] if os.path.isfile(path) else None


def _cpu_hours(work):
    out = {}
    for key, _ in COSTS:
        path = os.path.join(work, "cost", f"{key}.cpu")
        out[key] = sum(float(x) for x in open(path).read().split()) / 3600 if os.path.isfile(path) else None
    return out


def measure_limit(work, limit, conditions, repeats):
    """(args, latency ms, Mult-Adds, params) per model of one limit, the three timed side by side."""
    from lite_fairseq.profiler import build, profile_model
    from lite_fairseq.profiler.latency import time_translations

    limit_dir = os.path.join(work, f"limit_{limit}")
    args = {m: model_args(limit_dir, m) for m in MODELS}
    builts = {m: build(a[1], a[2:], src_vocab=conditions.src_vocab, tgt_vocab=conditions.tgt_vocab)
              for m, a in args.items()}
    import torch

    torch.set_num_threads(conditions.threads)
    times = time_translations(list(builts.values()), conditions.src_len, conditions.steps, conditions.beam,
                              repeats, conditions.warmup, conditions.cpu_time)
    out = {}
    for (m, built), (median, _) in zip(builts.items(), times):
        counted = profile_model(built, conditions.src_len, conditions.steps)
        out[m] = {"args": args[m], "latency_ms": median, "macs": counted.macs, "params": counted.params}
    return out


def cmd_report(opts):
    from lite_fairseq.search.predictor import load_predictor
    from lite_fairseq.search.latency import Conditions

    conditions = Conditions.stored(load_predictor(os.path.join(opts.work, "lat.pt")).meta.get("conditions"))
    repeats = opts.repeats or max(3 * conditions.repeats, 9)
    seeds, limits = opts.seeds.split(), opts.limits.split()
    lines = [f"Latency: the three designs of a limit timed side by side in one process, interleaved, median of "
             f"{repeats} ({conditions.device}, {conditions.threads} thread(s), beam {conditions.beam}, "
             f"{conditions.src_len}-token source, {conditions.steps} decoder steps, "
             f"{'CPU' if conditions.cpu_time else 'wall'} time; load average {os.getloadavg()[0]:.1f} when "
             "measured). BLEU: sacreBLEU on the test set, beam 4 (evaluate.sh).", "",
             "| limit (ms) | model | latency (ms) | Mult-Adds | params | " + " | ".join(f"BLEU s{s}" for s in seeds)
             + " | mean BLEU | training per seed (min, updates) |",
             "|---|---|---|---|---|" + "---|" * len(seeds) + "---|---|"]
    points, means = [], {}
    for limit in limits:
        measured = measure_limit(opts.work, limit, conditions, repeats)
        for m in MODELS:
            r = measured[m]
            runs = [os.path.join(opts.work, "runs", f"l{limit}_{m}.s{s}") for s in seeds]
            bleus = [_bleu(d) for d in runs]
            walls = [_kv(os.path.join(d, "time.txt")).get("wall_s") for d in runs]
            done = [b for b in bleus if b is not None]
            mean = statistics.mean(done) if done else None
            means[(limit, m)] = (r["latency_ms"], mean)
            points.append((m, r["latency_ms"], mean))
            cells = " | ".join("-" if b is None else f"{b:.2f}" for b in bleus)
            updates = [_updates(d) for d in runs]
            wall = ", ".join("-" if w is None else f"{int(w) / 60:.1f} min, {u if u is not None else '?'} upd"
                             for w, u in zip(walls, updates))
            lines.append(f"| {limit} | {m} | {r['latency_ms']:.1f} | {r['macs'] / 1e6:.1f}M | "
                         f"{r['params'] / 1e6:.2f}M | {cells} | {'-' if mean is None else f'{mean:.2f}'} | {wall} |")
    lines.append("")
    for limit in limits:
        found = means[(limit, "found")]
        for base in ("lite", "transformer"):
            other = means[(limit, base)]
            if found[1] is None or other[1] is None:
                lines.append(f"- limit {limit} ms, found vs {base}: not all runs scored")
                continue
            lines.append(f"- limit {limit} ms: found - {base} = {found[1] - other[1]:+.2f} BLEU at "
                         f"{found[0]:.1f} vs {other[0]:.1f} ms measured (the found design {other[0] / found[0]:.2f}x "
                         "as fast)")
    for (l1, m1), (t1, b1) in means.items():  # the found design of a lower limit against the baselines of a higher
        for (l2, m2), (t2, b2) in means.items():
            if m1 == "found" and m2 != "found" and float(l1) < float(l2) and None not in (b1, b2):
                lines.append(f"- found at limit {l1} ms vs {m2} at limit {l2} ms: {b1 - b2:+.2f} BLEU, the found "
                             f"design {t2 / t1:.2f}x as fast")
    cost = _cpu_hours(opts.work)
    lines += ["", "Search cost, CPU hours (user + system CPU time of the processes):", ""]
    lines += [f"- {label}: {'not recorded' if cost[k] is None else f'{cost[k]:.2f}'}" for k, label in COSTS]
    known = [v for v in cost.values() if v is not None]
    lines.append(f"- total: {sum(known):.2f}")
    text = "\n".join(lines) + "\n"
    with open(opts.out, "w") as f:
        f.write(text)
    print(text)
    if opts.png:
        plot(points, opts.png)
    return 0


def plot(points, png):
    try:
        import logging

        logging.getLogger("matplotlib").setLevel(logging.WARNING)  # under fairseq's logging setup it prints DEBUG
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for model, marker in zip(MODELS, "o^s"):
        xs = [t for m, t, b in points if m == model and b is not None]
        ys = [b for m, t, b in points if m == model and b is not None]
        ax.plot(xs, ys, marker=marker, linestyle="-", label=model)
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("test BLEU (mean over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["timed"]:
        if len(argv) < 4 or argv[2] != "--":
            sys.exit("usage: summarise.py timed COST_FILE -- CMD ...")
        return cmd_timed(argv[1], argv[3:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("limits").add_argument("lat_json")
    a = sub.add_parser("args")
    a.add_argument("limit_dir")
    a.add_argument("model", choices=MODELS)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--limits", required=True)
    r.add_argument("--seeds", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--png")
    r.add_argument("--repeats", type=int, default=None,
                   help="timed runs per design, interleaved (default: 3x the predictor's repeats, at least 9)")
    opts = p.parse_args(argv)
    if opts.cmd == "limits":
        return cmd_limits(opts.lat_json)
    if opts.cmd == "args":
        print(" ".join(model_args(opts.limit_dir, opts.model)))
        return 0
    return cmd_report(opts)


if __name__ == "__main__":
    sys.exit(main())
