"""Collect the quality benchmark's runs into the results table of benchmarks/RESULTS.md and the trade-off PNG.

    python benchmarks/quality/summarise.py --work WORK_DIR --results benchmarks/RESULTS.md \\
        --png benchmarks/quality/tradeoff.png

Reads WORK_DIR/profile.json (pairs.py profile) and, per run WORK_DIR/runs/MODEL.sSEED: time.txt (train.sh),
train.log (updates done), valid.txt and bleu.json (evaluate.sh), attention.json (attention.sh, optional).
Replaces only the text between the markers <!-- quality-table:begin --> and <!-- quality-table:end --> in
RESULTS.md (appending a "Quality at equal compute" section with them if absent) and draws the PNG with
benchmarks/plot_tradeoff.py (test BLEU per run, one line per family, means over seeds per model).
"""

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys

BEGIN, END = "<!-- quality-table:begin -->", "<!-- quality-table:end -->"
HERE = os.path.dirname(os.path.abspath(__file__))


def _kv(path):
    out = {}
    if os.path.isfile(path):
        for line in open(path):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def collect(work):
    profile = json.load(open(os.path.join(work, "profile.json")))
    runs = []
    for run_dir in sorted(glob.glob(os.path.join(work, "runs", "*.s*"))):
        model, seed = re.match(r"(.+)\.s(\d+)$", os.path.basename(run_dir)).groups()
        t, v = _kv(os.path.join(run_dir, "time.txt")), _kv(os.path.join(run_dir, "valid.txt"))
        bleu_path = os.path.join(run_dir, "bleu.json")
        updates = re.findall(r"num_updates[ =](\d+)", open(os.path.join(run_dir, "train.log")).read())
        attn_path = os.path.join(run_dir, "attention.json")
        attn = json.load(open(attn_path)).get("subset") if os.path.isfile(attn_path) else None
        p = profile[model]
        runs.append({
            "model": model, "seed": int(seed), "budget": p["budget"], "arch": p["arch"],
            "family": "Lite Transformer" if p["arch"].startswith("lite") else "Transformer",
            "macs": p["macs"], "params": p["params"], "params_without_embeddings": p["params_without_embeddings"],
            "updates": int(updates[-1]) if updates else None,
            "wall_s": int(t["wall_s"]) if "wall_s" in t else None,
            "valid_loss": float(v["valid_loss_last"]) if "valid_loss_last" in v else None,
            "bleu": json.load(open(bleu_path))["score"] if os.path.isfile(bleu_path) else None,
            "diag_mass": attn["mean"] if attn else None, "diag_chance": attn["chance"] if attn else None,
        })
    return runs


def _f(x, fmt):
    return "-" if x is None else format(x, fmt)


def paired_bootstrap(work, base_hyp, lite_hyp, n=1000):
    """sacreBLEU's paired bootstrap resampling of the test set (baseline first): p-value of Lite's difference."""
    env = _kv(os.path.join(work, "prepare.env"))
    ref = os.path.join(work, f"test.raw.{env.get('TGT', 'en')}")
    out = subprocess.run(["sacrebleu", ref, "-i", base_hyp, lite_hyp, "--paired-bs", "--paired-bs-n", str(n),
                          "-m", "bleu"], check=True, capture_output=True, text=True).stdout
    lite = json.loads(out)[1]["BLEU"]
    return lite["p_value"], lite["ci"]


def table(runs, work=None):
    lines = ["| budget | model | Mult-Adds (30/30) | #Params (all / w/o emb.) | seed | updates | train wall | "
             "valid loss | test BLEU | diag. mass +-2 (valid) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r["macs"], r["family"], r["seed"])):
        chance = "" if r["diag_chance"] is None else f" (uniform {r['diag_chance']:.3f})"
        lines.append(
            f"| {r['budget']} | {r['family']} {r['model']} | {r['macs'] / 1e6:.2f}M | "
            f"{r['params'] / 1e6:.2f}M / {r['params_without_embeddings'] / 1e6:.2f}M | {r['seed']} | "
            f"{_f(r['updates'], 'd')} | {'-' if r['wall_s'] is None else format(r['wall_s'] / 60, '.1f') + ' min'} | "
            f"{_f(r['valid_loss'], '.3f')} | {_f(r['bleu'], '.2f')} | "
            f"{_f(r['diag_mass'], '.3f')}{chance} |")
    # gaps per budget (means over the seeds both models have)
    gaps = []
    for budget in sorted({r["budget"] for r in runs}):
        by = {fam: {r["seed"]: r["bleu"] for r in runs if r["budget"] == budget and r["family"] == fam
                    and r["bleu"] is not None} for fam in ("Lite Transformer", "Transformer")}
        seeds = sorted(set(by["Lite Transformer"]) & set(by["Transformer"]))
        if seeds:
            d = [by["Lite Transformer"][s] - by["Transformer"][s] for s in seeds]
            spread = f", per seed {', '.join(f'{x:+.2f}' for x in d)}" if len(d) > 1 else ""
            boot = ""
            if work:
                lite_run = next(r for r in runs if r["budget"] == budget and r["family"] == "Lite Transformer")
                base_run = next(r for r in runs if r["budget"] == budget and r["family"] == "Transformer")
                pv = [paired_bootstrap(work, os.path.join(work, "runs", f"{base_run['model']}.s{sd}", "test.hyp"),
                                       os.path.join(work, "runs", f"{lite_run['model']}.s{sd}", "test.hyp"))[0]
                      for sd in seeds]
                boot = ("; sacreBLEU paired bootstrap over the test sentences (1000 resamples), p = "
                        + ", ".join(f"{x:.3f}" for x in pv) + " (test-set sampling only, not seed variance)")
            gaps.append(f"- {budget}: Lite - Transformer = {statistics.mean(d):+.2f} BLEU over seed(s) "
                        f"{', '.join(map(str, seeds))}{spread}{boot}")
    return "\n".join(lines + [""] + gaps)


def write_results(path, body):
    text = open(path).read() if os.path.isfile(path) else "# Benchmark results\n"
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Quality at equal compute (`benchmarks/quality/`)\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default=os.environ.get("QUALITY_OUT", "work_dirs/quality"))
    p.add_argument("--results", default=os.path.join(HERE, "..", "RESULTS.md"))
    p.add_argument("--png", default=os.path.join(HERE, "tradeoff.png"))
    a = p.parse_args(argv)
    runs = collect(a.work)
    if not runs:
        sys.exit(f"error: no runs under {a.work}/runs")
    body = table(runs, a.work)
    print(body)
    write_results(a.results, body)
    with open(os.path.join(a.work, "summary.json"), "w") as f:
        json.dump(runs, f, indent=1)
    # trade-off plot: mean BLEU over seeds per model
    points = []
    for model in sorted({r["model"] for r in runs}):
        rs = [r for r in runs if r["model"] == model and r["bleu"] is not None]
        if rs:
            points.append({"family": rs[0]["family"], "label": model, "macs": rs[0]["macs"],
                           "bleu": statistics.mean(r["bleu"] for r in rs)})
    if points:
        pts = os.path.join(a.work, "tradeoff_points.json")
        json.dump(points, open(pts, "w"), indent=1)
        subprocess.run([sys.executable, os.path.join(HERE, "..", "plot_tradeoff.py"), pts, "--metric", "bleu",
                        "--out", a.png, "--title", "DDTP de-en test BLEU at equal Mult-Adds (CPU budget)"],
                       check=True)


if __name__ == "__main__":
    main()
