"""Where an ONNX export's decoder step spends its time (issue 14): onnxruntime's own profiler over greedy steps.

For each export directory (``lite-fairseq-export --format onnx``) it prints the node count of the encoder and the
decoder step as written and after onnxruntime's graph optimisations (what the session runs), then the decoder
step's kernel time per operator type (the median of each node over the profiled steps, summed), batch ``--batch``,
one thread. Several directories are profiled side by side (e.g. an export before and after a change):

    python benchmarks/deploy_profile.py before=export_old after=export_new --steps 30 --nodes 10

(``--nodes N`` also lists the N slowest nodes with their input and output shapes.)

Profiling adds a cost to every node, so the sums are larger than an unprofiled step; compare them with each other.
"""

import argparse
import collections
import json
import os
import sys
import tempfile
from typing import Dict, List

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.deploy.runtime import Translator  # noqa: E402


def node_counts(path: str, workdir: str) -> Dict[str, int]:
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.optimized_model_filepath = os.path.join(workdir, "optimised.onnx")
    ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return {"written": len(onnx.load(path).graph.node),
            "optimised": len(onnx.load(options.optimized_model_filepath).graph.node)}


def profile_step(directory: str, steps: int, batch: int, workdir: str, nodes: List = None) -> Dict[str, List[float]]:
    """{op type: [kernel microseconds of each node of that type]} over ``steps`` greedy-shaped steps; ``nodes``,
    if given, receives (median microseconds, op type, node name, input and output shapes) of every node."""
    import onnxruntime as ort

    translator = Translator(directory, threads=1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(workdir, "profile")
    session = ort.InferenceSession(os.path.join(directory, translator.manifest["programs"]["decoder"]["file"]),
                                   options, providers=["CPUExecutionProvider"])
    eos = translator.manifest["symbols"]["eos"]
    cross = translator.encoder.run([np.array([[4 + i % 20 for i in range(29)] + [eos]], dtype=np.int64)])
    names = [i.name for i in session.get_inputs()]
    states = translator.initial_state(batch)
    tokens = np.full((batch, 1), eos, dtype=np.int64)
    for step in range(steps):
        out = session.run(None, dict(zip(names, [tokens, np.array([step], dtype=np.int64)] + cross + states)))
        states = list(out[1:])
    with open(session.end_profiling()) as f:
        events = json.load(f)
    per_node, op_type, shapes = collections.defaultdict(list), {}, {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_node[event["name"]].append(event["dur"])
            op_type[event["name"]] = event["args"].get("op_name", "?")
            shapes[event["name"]] = [list(t.values())[0] for key in ("input_type_shape", "output_type_shape")
                                     for t in event["args"].get(key, [])]
    by_op = collections.defaultdict(list)
    for node, durations in per_node.items():
        by_op[op_type[node]].append(float(np.median(durations)))
        if nodes is not None:
            nodes.append((float(np.median(durations)), op_type[node], node[: -len("_kernel_time")], shapes[node]))
    return by_op


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exports", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--top", type=int, default=12, help="operator types listed")
    parser.add_argument("--nodes", type=int, default=0, help="also list this many of the slowest nodes")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; decoder step, batch {args.batch}, "
          f"{args.steps} steps, 1 thread")
    for text in args.exports:
        name, _, directory = text.rpartition("=")
        name = name or directory
        with tempfile.TemporaryDirectory() as work:
            counts = {p: node_counts(os.path.join(directory, f), work)
                      for p, f in (("encoder", "encoder.onnx"), ("decoder step", "decoder_step.onnx"))}
            nodes: List = []
            by_op = profile_step(directory, args.steps, args.batch, work, nodes)
        total = sum(sum(v) for v in by_op.values())
        print(f"{name}: nodes written/optimised: encoder {counts['encoder']['written']}/"
              f"{counts['encoder']['optimised']}, decoder step {counts['decoder step']['written']}/"
              f"{counts['decoder step']['optimised']}; step kernel time {total:.0f} us (profiled)")
        for op, times in sorted(by_op.items(), key=lambda kv: -sum(kv[1]))[: args.top]:
            print(f"  {op:<24}{len(times):>5} nodes{sum(times):>9.0f} us{100 * sum(times) / total:>6.1f}%"
                  f"   largest node {max(times):.0f} us")
        for us, op, node, shapes in sorted(nodes, reverse=True)[: args.nodes]:
            print(f"    {us:>7.0f} us  {op:<22}{node:<40} {' '.join('x'.join(map(str, s)) for s in shapes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
