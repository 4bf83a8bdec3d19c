"""Decoding time of the same Lite model with the attention fast paths of lite_fairseq.modules.fast_step on and off,
interleaved run by run in one process (the fairer before/after figure on a shared machine).

    python benchmarks/decoding_fast_path_ab.py --arch lite_transformer_wmt_200 --beam 4 --repeats 7

One run = ``lite-fairseq-profile --latency``'s translation of one 30-token sentence (30 steps), 1 thread. Both wall
time and the process's CPU time are shown: on a loaded machine the CPU time is the steadier of the two (with one
thread it is the work done, not the time spent waiting for a core).
Off: every attention step runs fairseq's MultiheadAttention (the convolution-step and projection changes stay in).
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

from lite_fairseq.modules import fast_step  # noqa: E402
from lite_fairseq.profiler.building import build  # noqa: E402
from lite_fairseq.profiler.latency import _random_tokens, translate  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", action="append")
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--vocab", type=int, default=8000)
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; beam {a.beam}; median of {a.repeats} interleaved runs, 1 thread")
    for arch in a.arch or ["lite_transformer_wmt_200", "lite_transformer_wmt_408", "lite_transformer_wmt_496"]:
        built = build(arch, (), src_vocab=a.vocab)
        src = _random_tokens(built.src_dict, 30, seed=0)
        times = {True: [], False: []}
        cpu = {True: [], False: []}
        for i in range(a.repeats + 1):
            for on in ((True, False) if i % 2 == 0 else (False, True)):
                fast_step.ENABLED = on
                start, start_cpu = time.perf_counter(), time.process_time()
                translate(built, src, 30, a.beam)
                if i:  # the first round warms up
                    times[on].append(time.perf_counter() - start)
                    cpu[on].append(time.process_time() - start_cpu)
        fast_step.ENABLED = True
        on, off = statistics.median(times[True]) * 1e3, statistics.median(times[False]) * 1e3
        con, coff = statistics.median(cpu[True]) * 1e3, statistics.median(cpu[False]) * 1e3
        print(f"{arch:<28} wall: on {on:7.1f} ms off {off:7.1f} ms speed-up {off / on:.2f}x;  "
              f"CPU: on {con:7.1f} ms off {coff:7.1f} ms speed-up {coff / con:.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
