"""The model pairs of the quality benchmark: a Lite Transformer and a fairseq Transformer per Mult-Adds budget.

Widths were chosen with the profiler (lite_fairseq.profiler, 30 source / 30 target tokens, the paper's convention)
so that each pair is within 5% Mult-Adds; `profile` recounts them and fails if a pair drifts apart.

    python benchmarks/quality/pairs.py list                      the model names, one a line
    python benchmarks/quality/pairs.py args MODEL                 fairseq-train model options of MODEL
    python benchmarks/quality/pairs.py budget BUDGET              the two model names of BUDGET
    python benchmarks/quality/pairs.py profile --data DATA_BIN --out FILE.json
"""

import argparse
import json
import sys

# Both sides: 3 encoder + 3 decoder layers (what 2 CPU cores can train in minutes), all embeddings shared (one
# joined BPE dictionary), post-norm. Transformer: FFN 2d, 4 heads (as the paper's IWSLT baselines). Lite: the
# paper's IWSLT LSRA (half the channels to 4-head attention, half to 4-head lightweight convolution without GLU,
# flattened FFN = d) with the first three of its kernel sizes, 3, 7, 15.
_LAYERS = ["--encoder-layers", "3", "--decoder-layers", "3", "--share-all-embeddings"]


def _transformer(d):
    return ("transformer_paper_iwslt_128", [
        "--encoder-embed-dim", str(d), "--decoder-embed-dim", str(d),
        "--encoder-ffn-embed-dim", str(2 * d), "--decoder-ffn-embed-dim", str(2 * d),
        "--encoder-attention-heads", "4", "--decoder-attention-heads", "4"] + _LAYERS)


def _lite(d):
    return ("lite_transformer_iwslt_de_en_160", [
        "--encoder-embed-dim", str(d), "--decoder-embed-dim", str(d),
        "--encoder-kernel-size-list", "[3,7,15]", "--decoder-kernel-size-list", "[3,7,15]"] + _LAYERS)


MODELS = {
    "transformer_d88": _transformer(88),
    "lite_d120": _lite(120),
    "transformer_d160": _transformer(160),
    "lite_d216": _lite(216),
}
BUDGETS = {"15M": ("lite_d120", "transformer_d88"), "50M": ("lite_d216", "transformer_d160")}
TOLERANCE = 0.05


def model_args(name):
    arch, overrides = MODELS[name]
    return ["--arch", arch] + overrides


def profile_all(data_dir):
    from lite_fairseq.profiler.counting import profile

    out = {}
    for name, (arch, overrides) in MODELS.items():
        r = profile(arch, overrides, data=data_dir)
        out[name] = {"arch": arch, "overrides": overrides, "macs": r.macs, "params": r.params,
                     "params_without_embeddings": r.params_without_embeddings}
    for budget, (lite, base) in BUDGETS.items():
        a, b = out[lite]["macs"], out[base]["macs"]
        if abs(a - b) > TOLERANCE * max(a, b):
            raise SystemExit(f"error: budget {budget}: {lite} {a / 1e6:.2f}M vs {base} {b / 1e6:.2f}M Mult-Adds, "
                             f"more than {TOLERANCE:.0%} apart")
        for n in (lite, base):
            out[n]["budget"] = budget
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    sub.add_parser("args").add_argument("model", choices=sorted(MODELS))
    sub.add_parser("budget").add_argument("budget", choices=sorted(BUDGETS))
    pr = sub.add_parser("profile")
    pr.add_argument("--data")
    pr.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.cmd == "list":
        print("\n".join(MODELS))
    elif args.cmd == "args":
        print(" ".join(model_args(args.model)))
    elif args.cmd == "budget":
        print(" ".join(BUDGETS[args.budget]))
    else:
        res = profile_all(args.data)
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        for n, r in res.items():
            print(f"{n:18s} {r['budget']:>4s} Mult-Adds {r['macs'] / 1e6:7.2f}M  params {r['params'] / 1e6:.2f}M",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
