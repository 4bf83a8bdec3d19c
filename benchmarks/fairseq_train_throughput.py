"""fairseq-train itself, Lite Transformer beside the Transformer of equal budget: the same synthetic corpus, batch
and number of updates; words/s read from fairseq-train's own log (``wps``), Mult-Adds/s derived from it.

    python benchmarks/fairseq_train_throughput.py      # lite_transformer_wmt_200 vs transformer_paper_wmt_128
    python benchmarks/fairseq_train_throughput.py --pair lite_transformer_iwslt_de_en_160=transformer_paper_iwslt_128
    python benchmarks/fairseq_train_throughput.py --before ../old-checkout  # also train Lite with older code
    python benchmarks/fairseq_train_throughput.py --pair lite_transformer_wmt_408=transformer_paper_wmt_256 \\
        --pair lite_transformer_wmt_496=transformer_paper_wmt_320   # several pairs, one after the other

The script writes ``--sentences`` random sentence pairs (lengths drawn as in generate_throughput.py, vocabulary of
``--vocab`` words) into a temporary directory, binarises them with ``fairseq-preprocess --joined-dictionary``, then
runs ``fairseq-train --cpu`` (``OMP_NUM_THREADS=--threads``) for ``--updates`` updates of ``--max-tokens`` tokens per
model, ``--rounds`` times, the order alternating between rounds. Words/s is the median ``wps`` of fairseq-train's
per-update log lines after the first ``--skip`` updates (warm-up); Mult-Adds/s is words/s times each model's forward
Mult-Adds per target word, output projection included (lite_fairseq's profiler, 30/30-token sentence, this corpus's
dictionary size). ``--before DIR``: also run Lite with the lite_fairseq of another checkout
(``--user-dir DIR/lite_fairseq``, ``PYTHONPATH=DIR``), e.g. ``git worktree add ../before <commit>``, for a
before/after figure in one interleaved run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.profiler.building import build  # noqa: E402
from lite_fairseq.profiler.counting import profile_model  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
from generate_throughput import WMT_PAIRS, parse_pair, source_lengths  # noqa: E402

TRAIN_ARGS = ["--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "0.0005", "--lr-scheduler",
              "inverse_sqrt", "--warmup-updates", "100", "--criterion", "label_smoothed_cross_entropy",
              "--label-smoothing", "0.1", "--num-workers", "0", "--seed", "1", "--cpu", "--no-save",
              "--disable-validation", "--log-format", "json", "--log-interval", "1", "--required-batch-size-multiple",
              "1", "--share-all-embeddings"]


def write_corpus(directory, sentences, vocab, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = source_lengths(sentences, seed)
    for split, n in (("train", sentences), ("valid", 8)):
        for lang in ("src", "tgt"):
            with open(os.path.join(directory, f"{split}.{lang}"), "w") as f:
                for length in lengths[:n]:
                    words = torch.randint(0, vocab, (length,), generator=g).tolist()
                    f.write(" ".join(f"w{w}" for w in words) + "\n")
    data = os.path.join(directory, "data-bin")
    pref = os.path.join(directory, "{}")
    subprocess.run(["fairseq-preprocess", "--source-lang", "src", "--target-lang", "tgt", "--joined-dictionary",
                    "--trainpref", pref.format("train"), "--validpref", pref.format("valid"), "--destdir", data,
                    "--workers", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(data, "dict.src.txt")) as f:
        dict_size = sum(1 for _ in f) + 4
    return data, dict_size


def train_wps(data, arch, code_dir, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=code_dir)
    cmd = ["fairseq-train", data, "--user-dir", os.path.join(code_dir, "lite_fairseq"), "--arch", arch,
           "--max-tokens", str(args.max_tokens), "--max-update", str(args.updates), *TRAIN_ARGS]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"fairseq-train --arch {arch} failed:\n{proc.stderr[-3000:]}")
    wps = []
    for line in (proc.stdout + proc.stderr).splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if "wps" in record and "num_updates" in record and int(record["num_updates"]) > args.skip:
            wps.append(float(record["wps"]))
    if not wps:
        raise SystemExit(f"fairseq-train --arch {arch}: no per-update wps after {args.skip} updates in its log; "
                         "raise --updates")
    return wps


def macs_per_word(arch, dict_size):
    built = build(arch, (), src_vocab=dict_size)
    p = profile_model(built, 30, 30)
    return (p.macs + p.macs_excluded.get("output_projection", 0)) / 30


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", type=parse_pair, action="append", metavar="LITE=TRANSFORMER",
                   help="repeat for several pairs, run one after the other (default: "
                        f"{'='.join(WMT_PAIRS[0])})")
    p.add_argument("--sentences", type=int, default=2000)
    p.add_argument("--vocab", type=int, default=8000, help="words of the synthetic corpus (8000)")
    p.add_argument("--max-tokens", type=int, default=4096)
    p.add_argument("--updates", type=int, default=12)
    p.add_argument("--skip", type=int, default=2, help="first updates left out of the median (2)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--before", metavar="DIR", help="another checkout: also train Lite with its lite_fairseq")
    args = p.parse_args(argv)
    if args.updates <= args.skip:
        p.error("--updates must be larger than --skip")
    with tempfile.TemporaryDirectory() as tmp:
        data, dict_size = write_corpus(tmp, args.sentences, args.vocab)
        for lite, base in args.pair or WMT_PAIRS[:1]:
            run_pair(args, data, dict_size, lite, base)


def run_pair(args, data, dict_size, lite, base):
    """Train ``lite`` and ``base`` (and Lite with ``--before``'s code) in turn on ``data``; print the table."""
    runs = [("Lite", lite, REPO), ("Transformer", base, REPO)]
    if args.before:
        runs.append(("Lite, --before code", lite, os.path.abspath(args.before)))
    load_before = os.getloadavg()[0]
    wps = {label: [] for label, _, _ in runs}
    for i in range(args.rounds):
        for label, arch, code in (runs if i % 2 == 0 else runs[::-1]):
            wps[label] += train_wps(data, arch, code, args)
    per_word = {lite: macs_per_word(lite, dict_size), base: macs_per_word(base, dict_size)}
    print(f"\nfairseq-train on the CPU (OMP_NUM_THREADS={args.threads}): {args.sentences} synthetic sentence pairs, "
          f"dictionary {dict_size}, --max-tokens {args.max_tokens}, {args.rounds} x {args.updates} updates per "
          f"model (median wps after update {args.skip}), load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"{'run':<22}{'arch':<34}{'words/s':>9}{'MA/word':>10}{'GMA/s':>8}{'vs Transformer words/s':>24}"
          f"{'GMA/s':>8}")
    base_wps = statistics.median(wps["Transformer"])
    for label, arch, _ in runs:
        w = statistics.median(wps[label])
        gmas = w * per_word[arch] / 1e9
        base_gmas = base_wps * per_word[base] / 1e9
        print(f"{label:<22}{arch:<34}{w:>9.0f}{per_word[arch] / 1e6:>9.2f}M{gmas:>8.2f}{w / base_wps:>23.2f}x"
              f"{gmas / base_gmas:>7.2f}x", flush=True)
    print("(GMA/s: forward Mult-Adds per second, output projection included, = words/s x Mult-Adds per target word)")


if __name__ == "__main__":
    main()
