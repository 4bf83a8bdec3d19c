"""Decoding time of the same Lite model with the inference fast paths of lite_fairseq.modules.fast_step off, with the
attention steps only, and with the whole-layer step, interleaved run by run in one process (the fairer before/after
figure on a shared machine), beside the Transformer of equal Mult-Adds in the same interleaving.

    python benchmarks/decoding_fast_path_ab.py --pair lite_transformer_wmt_200=transformer_paper_wmt_128 --beam 4

One run = ``lite-fairseq-profile --latency``'s translation of one 30-token sentence (30 steps), 1 thread. Both wall
time and the process's CPU time are shown (median of the runs; minimum in brackets): on a loaded machine the CPU
time is the steadier of the two (with one thread it is the work done, not the time spent waiting for a core).

Modes of the Lite model:
  off    every step module by module through fairseq's MultiheadAttention and fairseq's beam reordering;
  attn   the attention fast steps only (fused q/k/v self-attention, cached encoder-decoder attention), the
         rest module by module (what the code did before the whole-layer step);
  plain  every fast path but the products' weight layouts: each decoder layer's step on 2-D rows
         (:meth:`LiteDecoderLayer.decode_step`), the convolution step on its ring of the last K inputs,
         encoder-decoder weights only for the alignment layer, beam reordering over the stateful modules only,
         every linear map an ``F.linear``;
  layer  every fast path: ``plain`` with the step's linear maps through
         :func:`lite_fairseq.kernels.few_rows_linear` (weights laid out for the step's row count).
Mult-Adds/s ratio: Lite's executed Mult-Adds over the Transformer's (output projection included,
``lite_fairseq.profiler.latency.executed_macs``) times the Transformer's time over Lite's.
"""

import argparse
import os
import statistics
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.kernels import linear_cpu  # noqa: E402
from lite_fairseq.modules import fast_step  # noqa: E402
from lite_fairseq.profiler.building import build  # noqa: E402
from lite_fairseq.profiler.latency import _random_tokens, executed_macs, translate  # noqa: E402

MODES = {"off": (False, False, False), "attn": (True, False, False), "plain": (True, True, False),
         "layer": (True, True, True)}
WMT_PAIRS = ["lite_transformer_wmt_200=transformer_paper_wmt_128", "lite_transformer_wmt_408=transformer_paper_wmt_256",
             "lite_transformer_wmt_496=transformer_paper_wmt_320"]


def run_pair(lite_arch, base_arch, beam, repeats, vocab):
    lite, base = build(lite_arch, (), src_vocab=vocab), build(base_arch, (), src_vocab=vocab)
    src_lite, src_base = _random_tokens(lite.src_dict, 30, seed=0), _random_tokens(base.src_dict, 30, seed=0)
    runs = [(m, lite, src_lite) for m in MODES] + [("transformer", base, src_base)]
    wall = {name: [] for name, _, _ in runs}
    cpu = {name: [] for name, _, _ in runs}
    try:
        for i in range(repeats + 1):
            order = runs if i % 2 == 0 else runs[::-1]
            for name, built, src in order:
                fast_step.ENABLED, fast_step.LAYER_STEP, linear_cpu.ENABLED = MODES.get(name, (True, True, True))
                start, start_cpu = time.perf_counter(), time.process_time()
                translate(built, src, 30, beam)
                if i:  # the first round warms up
                    wall[name].append((time.perf_counter() - start) * 1e3)
                    cpu[name].append((time.process_time() - start_cpu) * 1e3)
    finally:
        fast_step.ENABLED, fast_step.LAYER_STEP, linear_cpu.ENABLED = True, True, True
    macs = executed_macs(lite, 30, 30, beam) / executed_macs(base, 30, 30, beam)
    print(f"{lite_arch} vs {base_arch}, beam {beam}: Lite executes {macs:.3f}x the Transformer's Mult-Adds")
    med = {k: statistics.median(v) for k, v in cpu.items()}
    for name in list(MODES) + ["transformer"]:
        w, c = wall[name], cpu[name]
        line = (f"  {name:<12} wall {statistics.median(w):7.1f} ms ({min(w):6.1f})   "
                f"CPU {statistics.median(c):7.1f} ms ({min(c):6.1f})")
        if name in MODES:
            line += (f"   speed-up over off (CPU) {med['off'] / med[name]:.2f}x;"
                     f"  Lite/Tr Mult-Adds/s (CPU) {macs * med['transformer'] / med[name]:.2f}x"
                     f" (wall {macs * statistics.median(wall['transformer']) / statistics.median(w):.2f}x)")
        print(line)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", action="append", metavar="LITE=TRANSFORMER")
    p.add_argument("--beam", type=int, action="append", help="repeatable; default 1 and 4")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--vocab", type=int, default=8000)
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; median (minimum) of {a.repeats} interleaved runs, 1 thread")
    for beam in a.beam or [1, 4]:
        for pair in a.pair or WMT_PAIRS:
            lite_arch, _, base_arch = pair.partition("=")
            run_pair(lite_arch, base_arch, beam, a.repeats, a.vocab)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
