"""Which weight layout reads fastest for a decoding step's few rows on this CPU (issue 13): the evidence behind
:func:`lite_fairseq.kernels.few_rows_linear`'s rule.

    python benchmarks/few_rows_linear.py                                   # lite_transformer_wmt_496's decoder step
    python benchmarks/few_rows_linear.py --arch transformer_paper_wmt_320 --rows 1 4 8

Takes the weight matrices one decoder step multiplies by (every linear map of the decoder and the output projection,
as ``benchmarks/decode_weight_bound.py`` counts them; vocabulary ``--vocab``), so the products stream a decoder's
worth of distinct weights as decoding does, and times one pass over all of them, 1 thread, process CPU time, the
three layouts in turn in each round (median of ``--rounds``), for each row count:

* ``F.linear``: the ``out x in`` weight as PyTorch stores it;
* ``transposed``: the same values stored ``in x out`` (``weight.t().contiguous().t()``);
* ``mkl-packed``: MKL's packed weight for that row count (``torch.ops.mkl._mkl_reorder_linear_weight``);

each laid out and multiplied by ``lite_fairseq.kernels.linear_cpu``'s own ``lay_out`` and ``multiply``,
and then what ``few_rows_linear`` chose. Speed-ups are medians of the rounds' own ratios over ``F.linear``.
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from decode_weight_bound import step_weights  # noqa: E402
from lite_fairseq.kernels import linear_cpu  # noqa: E402
from lite_fairseq.profiler.building import build  # noqa: E402

LAYOUTS = ("F.linear",) + linear_cpu.LAYOUTS


def layouts(maps, rows: int):
    """Per layout, a function running one pass of products over ``maps`` (inputs of ``rows`` rows made once),
    with ``few_rows_linear``'s own copies and products."""
    inputs = [torch.randn(rows, w.size(1)) for w, _ in maps]
    runs = {"F.linear": lambda: [F.linear(x, w, b) for x, (w, b) in zip(inputs, maps)]}
    if not linear_cpu.layouts_available():
        return runs

    def run(layout):
        copies = [linear_cpu.lay_out(w, layout, rows) for w, _ in maps]
        return lambda: [linear_cpu.multiply(x, w, b, c, layout) for x, c, (w, b) in zip(inputs, copies, maps)]

    for layout in linear_cpu.LAYOUTS:
        runs[layout] = run(layout)
    return runs


def measure(maps, rows: int, rounds: int):
    runs = layouts(maps, rows)
    seconds = {name: [] for name in runs}
    with torch.inference_mode():
        for run in runs.values():  # warm-up
            run()
        for _ in range(rounds):
            for name, run in runs.items():
                start = time.process_time()
                run()
                seconds[name].append(time.process_time() - start)
    return seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="lite_transformer_wmt_496", help="whose decoder weights (a registered arch)")
    p.add_argument("--vocab", type=int, default=10000, help="target vocabulary: the output projection's rows")
    p.add_argument("--rows", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48],
                   help="row counts (hypotheses per step) to time")
    p.add_argument("--rounds", type=int, default=9)
    a = p.parse_args(argv)
    if a.rounds < 1 or a.vocab < 10 or min(a.rows) < 1:
        p.error("--rounds and every --rows must be at least 1, --vocab at least 10")
    torch.set_num_threads(1)
    maps = step_weights(build(a.arch, src_vocab=a.vocab).model.decoder)
    weights = sum(w.numel() for w, _ in maps)
    print(f"load average {os.getloadavg()[0]:.2f}; {a.arch}: {len(maps)} weight matrices, {weights / 1e6:.2f}M "
          f"weights ({4 * weights / 1e6:.0f} MB); one pass over all of them, ms (median of {a.rounds}), 1 thread")
    print(f"  {'rows':>4}" + "".join(f"{name:>13}" for name in LAYOUTS)
          + "".join(f"{name + ' x':>15}" for name in LAYOUTS[1:]) + "   few_rows_linear uses")
    for rows in a.rows:
        s = measure(maps, rows, a.rounds)
        line = f"  {rows:>4}" + "".join(f"{1e3 * statistics.median(s[n]):>13.2f}" if n in s else f"{'-':>13}"
                                        for n in LAYOUTS)
        for name in LAYOUTS[1:]:
            ratio = statistics.median([x / y for x, y in zip(s["F.linear"], s[name])]) if name in s else None
            line += f"{ratio:>14.2f}x" if ratio is not None else f"{'-':>15}"
        print(line + f"   {linear_cpu.layout_for(rows) or 'F.linear'}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
