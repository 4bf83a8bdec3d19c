"""Draw the paper-style trade-off: Mult-Adds on x, BLEU (or validation loss) on y, one line per model family.

Runs come from CSV or JSON files (a JSON list of objects, or an object with a "runs" list). Each run has:

* ``label`` (optional, annotates the point) and ``family`` (optional; one line per family, e.g. "Lite Transformer"),
* its cost: ``macs`` (a number), or ``arch`` plus optional ``overrides`` (fairseq-style words, e.g.
  ``"--encoder-embed-dim 256"``), which the profiler (``lite_fairseq.profiler.profile``) counts,
* its quality: the ``--metric`` column (``bleu`` by default; e.g. ``valid_loss``), or ``log``: a fairseq training
  log whose best (lowest) ``valid ... | loss X`` value is used when the metric is ``valid_loss``.

Example::

    python benchmarks/plot_tradeoff.py runs.csv --metric bleu --out tradeoff.png

with runs.csv::

    family,label,arch,bleu
    Lite Transformer,d=160,lite_transformer_iwslt_de_en_160,33.0
    Transformer,d=128,transformer_paper_iwslt_128,31.5
"""

import argparse
import csv
import json
import os
import re
import shlex
import sys
from collections import OrderedDict
from typing import Dict, List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_VALID_LOSS = re.compile(r"valid on '[^']*' subset.*?\|\s*loss\s+([0-9.eE+-]+)")


class RunsError(ValueError):
    pass


def read_runs(path: str) -> List[Dict]:
    if not os.path.isfile(path):
        raise RunsError(f"runs file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            data = json.load(f)
            runs = data["runs"] if isinstance(data, dict) and "runs" in data else data
            if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
                raise RunsError(f"{path}: expected a JSON list of run objects (or {{\"runs\": [...]}})")
            return [dict(r, _source=path) for r in runs]
        return [dict({k: v for k, v in row.items() if v not in (None, "")}, _source=path)
                for row in csv.DictReader(f)]


def best_valid_loss(log_path: str) -> float:
    """Lowest validation loss in a fairseq training log."""
    if not os.path.isfile(log_path):
        raise RunsError(f"training log {log_path!r} does not exist")
    with open(log_path, encoding="utf-8", errors="replace") as f:
        losses = [float(m.group(1)) for m in map(_VALID_LOSS.search, f) if m]
    if not losses:
        raise RunsError(f"no \"valid on '...' subset | loss X\" line in {log_path!r}")
    return min(losses)


def run_macs(run: Dict) -> float:
    if "macs" in run:
        return float(run["macs"])
    if "arch" not in run:
        raise RunsError(f"run {run.get('label', run)} from {run['_source']}: give 'macs' or 'arch' (+ 'overrides')")
    from lite_fairseq.profiler import profile

    overrides = run.get("overrides", "")
    words = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    return float(profile(run["arch"], words).macs)


def run_metric(run: Dict, metric: str) -> float:
    if metric in run:
        return float(run[metric])
    if metric == "valid_loss" and "log" in run:
        return best_valid_loss(run["log"])
    raise RunsError(f"run {run.get('label', '?')} from {run['_source']}: no {metric!r} value"
                    + (" and no 'log'" if metric == "valid_loss" else ""))


def plot(runs: List[Dict], metric: str, out: str, title: Optional[str] = None) -> Dict[str, List]:
    """Draw the runs into ``out`` (PNG); returns the plotted points by family."""
    if not runs:
        raise RunsError("no runs to plot")
    families: "OrderedDict[str, List]" = OrderedDict()
    for run in runs:
        point = (run_macs(run) / 1e6, run_metric(run, metric), run.get("label", ""))
        families.setdefault(run.get("family", "runs"), []).append(point)
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    for family, points in families.items():
        points.sort()
        xs, ys, labels = zip(*points)
        ax.plot(xs, ys, marker="o", label=family)
        for x, y, label in points:
            if label:
                ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("Mult-Adds (M)")
    ax.set_ylabel({"bleu": "BLEU", "valid_loss": "validation loss"}.get(metric, metric))
    ax.set_title(title or "Quality vs computation")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
    return dict(families)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="CSV or JSON files describing runs")
    p.add_argument("--metric", default="bleu", help="y-axis column: bleu (default), valid_loss, ...")
    p.add_argument("--out", default="tradeoff.png", help="output PNG (default tradeoff.png)")
    p.add_argument("--title")
    args = p.parse_args(argv)
    try:
        runs = [run for path in args.runs for run in read_runs(path)]
        families = plot(runs, args.metric, args.out, args.title)
    except Exception as err:  # RunsError, ProfilerError, bad numbers: one clear line, non-zero exit
        if not isinstance(err, (RunsError, ValueError, KeyError)):
            raise
        print(f"plot_tradeoff: error: {err}", file=sys.stderr)
        return 2
    for family, points in families.items():
        for x, y, label in points:
            print(f"{family}\t{label}\t{x:.1f}M\t{args.metric}={y:g}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
