"""Batch-1 decoding on a CPU: how far can Lite's Mult-Adds per second go against the Transformer's when every
decoder step reads every decoder weight once? (issue 13, item 3)

    python benchmarks/decode_weight_bound.py                       # the three WMT pairs, greedy, 15 rounds
    python benchmarks/decode_weight_bound.py --pair lite_transformer_wmt_496=transformer_paper_wmt_320 --beam 4

At batch 1 a decoder step multiplies one row (``--beam`` rows) by each of its weight matrices: the products read
each weight once and are bound by the speed of that read, the same for both models. For each model this prints

* the Mult-Adds of translating one 30-token sentence in 30 steps (``lite-fairseq-profile --latency``'s count,
  output projection included);
* the weights a decoder step reads: every linear map of the decoder and the output projection, the
  encoder-decoder keys and values left out (projected once per sentence);
* time, 1 thread, both models in each round (process CPU time, median of the rounds): all of a step's linear maps
  alone on one row (``--beam`` rows) as ``F.linear`` and as :func:`lite_fairseq.kernels.few_rows_linear` (the weight
  layouts Lite's decoder step uses), and the whole translation (:func:`lite_fairseq.profiler.latency.translate`);
* a third translation in each round: the Transformer with every linear map routed through ``few_rows_linear`` too
  (fairseq's own decoder, patched for this run only), so Lite's advantage from its products' layouts can be told
  from the rest: against that translation both models read their weights the same way.

Then, Lite over the Transformer: Mult-Adds, weights per step, the measured Mult-Adds/s, and the **weight-bound**
estimate ``(Mult-Adds ratio) / (weights-per-step ratio)``: the Mult-Adds/s ratio of a translation whose time is all
weight reads at the same speed for both models. Time outside the products (Python, small operators, the encoder)
pulls the measured ratio from it toward the Mult-Adds ratio; removing that time moves it back.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from lite_fairseq.kernels import few_rows_linear, linear_cpu  # noqa: E402
from lite_fairseq.profiler.building import build  # noqa: E402
from lite_fairseq.profiler.latency import executed_macs, translate  # noqa: E402
from generate_throughput import WMT_PAIRS, parse_pair  # noqa: E402

SRC_LEN = STEPS = 30


def step_weights(decoder: nn.Module):
    """The weight matrices (and biases) one incremental decoder step multiplies by: every ``nn.Linear`` of the
    decoder (its output projection included, which a shared embedding is) but the encoder-decoder attention's key
    and value projections."""
    maps = []
    for name, module in decoder.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        leaf = name.rsplit(".", 1)[-1]
        if "encoder_attn" in name and leaf in ("k_proj", "v_proj"):
            continue
        maps.append((module.weight.detach(), None if module.bias is None else module.bias.detach()))
    if not isinstance(getattr(decoder, "output_projection", None), nn.Linear):
        raise SystemExit(f"{type(decoder).__name__} has no linear output projection (an adaptive softmax?): this "
                         "benchmark compares translation models with a plain output projection")
    return maps


def time_maps(maps, inputs, product=F.linear) -> float:
    """Process CPU seconds of one pass of products through ``maps``, map k applied to ``inputs[k]``."""
    start = time.process_time()
    for x, (w, b) in zip(inputs, maps):
        product(x, w, b)
    return time.process_time() - start


@contextlib.contextmanager
def products_laid_out():
    """While the block runs, every ``F.linear`` of a few rows (any module's: fairseq's Transformer's too) goes through
    ``few_rows_linear``, inputs of more than two dimensions viewed as rows."""
    original = F.linear

    def linear(x, weight, bias=None):
        rows = x.numel() // x.size(-1) if x.dim() > 2 and x.size(-1) else 0
        if rows and linear_cpu.layout_for(rows) and x.is_contiguous():
            return few_rows_linear(x.view(rows, x.size(-1)), weight, bias).view(*x.shape[:-1], weight.size(0))
        return few_rows_linear(x, weight, bias) if x.dim() == 2 else original(x, weight, bias)

    F.linear = linear
    try:
        yield
    finally:
        F.linear = original


def measure(lite_arch: str, base_arch: str, vocab: int, beam: int, rounds: int):
    built = [build(arch, src_vocab=vocab) for arch in (lite_arch, base_arch)]
    src_dict = built[0].src_dict
    src = torch.randint(src_dict.nspecial, len(src_dict), (1, SRC_LEN), generator=torch.Generator().manual_seed(0))
    maps = [step_weights(b.model.decoder) for b in built]
    macs = [executed_macs(b, SRC_LEN, STEPS, beam) for b in built]
    weights = [sum(w.numel() for w, _ in m) for m in maps]
    inputs = [[torch.randn(beam, w.size(1)) for w, _ in m] for m in maps]  # one row per hypothesis, made once
    map_s, laid_s, translate_s, base_laid_s = [[], []], [[], []], [[], []], []
    with torch.inference_mode():
        for i, b in enumerate(built):  # warm-up, untimed (the laid-out copies are made here)
            translate(b, src, STEPS, beam)
            for _ in range(linear_cpu.LAYOUT_AFTER):
                time_maps(maps[i], inputs[i], few_rows_linear)
        with products_laid_out():
            translate(built[1], src, STEPS, beam)
        for _ in range(rounds):
            for i, b in enumerate(built):
                map_s[i].append(sum(time_maps(maps[i], inputs[i]) for _ in range(STEPS)) / STEPS)
                laid_s[i].append(sum(time_maps(maps[i], inputs[i], few_rows_linear) for _ in range(STEPS)) / STEPS)
                start = time.process_time()
                translate(b, src, STEPS, beam)
                translate_s[i].append(time.process_time() - start)
            with products_laid_out():
                start = time.process_time()
                translate(built[1], src, STEPS, beam)
                base_laid_s.append(time.process_time() - start)
    return {"archs": (lite_arch, base_arch), "macs": macs, "weights": weights,
            "map_ms": [1e3 * statistics.median(s) for s in map_s],
            "laid_ms": [1e3 * statistics.median(s) for s in laid_s],
            "translate_ms": [1e3 * statistics.median(s) for s in translate_s],
            "base_laid_ms": 1e3 * statistics.median(base_laid_s)}


def report(r, beam: int) -> None:
    (la, ba), (ml, mb), (wl, wb) = r["archs"], r["macs"], r["weights"]
    print(f"\n{la} against {ba}, beam {beam}, {SRC_LEN}-token source, {STEPS} steps, 1 thread")
    print(f"  {'model':<28}{'Mult-Adds':>11}{'weights/step':>14}{'maps ms/step':>14}{'us per M weights':>18}"
          f"{'laid out ms/step':>18}{'us per M weights':>18}{'translate ms':>14}{'GMA/s':>8}")
    for i, arch in enumerate(r["archs"]):
        m, w, map_ms, tr_ms = r["macs"][i], r["weights"][i], r["map_ms"][i], r["translate_ms"][i]
        laid_ms = r["laid_ms"][i]
        print(f"  {arch:<28}{m / 1e6:>10.1f}M{w / 1e6:>13.2f}M{map_ms:>14.3f}{1e3 * map_ms / (w / 1e6):>18.1f}"
              f"{laid_ms:>18.3f}{1e3 * laid_ms / (w / 1e6):>18.1f}{tr_ms:>14.1f}{m / tr_ms / 1e6:>8.2f}")
    measured = (ml / r["translate_ms"][0]) / (mb / r["translate_ms"][1])
    print(f"  Lite/Transformer: Mult-Adds {ml / mb:.3f}x, weights per step {wl / wb:.3f}x, "
          f"maps' time {r['map_ms'][0] / r['map_ms'][1]:.3f}x; Mult-Adds/s measured {measured:.3f}x, "
          f"weight-bound {(ml / mb) / (wl / wb):.3f}x")
    same = (ml / r["translate_ms"][0]) / (mb / r["base_laid_ms"])
    print(f"  Transformer with its products laid out as Lite's: translate {r['base_laid_ms']:.1f} ms; "
          f"Lite/Transformer Mult-Adds/s against it {same:.3f}x")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", type=parse_pair, action="append", metavar="LITE=TRANSFORMER",
                   help="repeatable (default: the three WMT pairs)")
    p.add_argument("--vocab", type=int, default=10000, help="source and target vocabulary (10,000)")
    p.add_argument("--beam", type=int, default=1, help="hypotheses per step (1: greedy)")
    p.add_argument("--rounds", type=int, default=15)
    a = p.parse_args(argv)
    if a.beam < 1 or a.rounds < 1 or a.vocab < 10:
        p.error("--beam and --rounds must be at least 1 and --vocab at least 10")
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}")
    for lite_arch, base_arch in a.pair or WMT_PAIRS:
        report(measure(lite_arch, base_arch, a.vocab, a.beam, a.rounds), a.beam)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
