"""Where the CPU time goes: torch.profiler over Lite Transformer and the Transformer of equal budget, one decoder
step at a time (greedy or beam search, 1 thread) and one training step (2 threads).

    python benchmarks/profile_steps.py --pair lite_transformer_wmt_200=transformer_paper_wmt_128 --vocab 8000
    python benchmarks/profile_steps.py --what count --beam 4   # operator and Python calls per decoding step
    python benchmarks/profile_steps.py --what generate --sentences 64 --beam 4   # batched beam search steps

``--what count`` counts, per decoder step of one translation, the ATen operators run (torch.profiler events, views
included) and the Python function calls made (cProfile), for the Transformer and for Lite with each setting of the
inference fast paths (``off``, ``attn``, ``layer``: see benchmarks/decoding_fast_path_ab.py). Counts do not depend
on the machine's load, unlike times.

For each model: milliseconds per decoder step (30-token source, 30 steps, as ``lite-fairseq-profile --latency``
decodes) and per training step (``benchmarks/training_throughput.py``'s step), and the operators that take the most
self CPU time, with their calls per step. Figures are from one profiled run: read them as proportions.
"""

import argparse
import cProfile
import os
import pstats
import sys

import torch
from torch.profiler import ProfilerActivity, profile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.modules import fast_step  # noqa: E402
from lite_fairseq.profiler.building import build  # noqa: E402
from lite_fairseq.profiler.latency import _random_tokens, translate  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
from training_throughput import Runner  # noqa: E402


def table(prof, per, top):
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows)
    print(f"    {'operator':<42}{'self ms/' + per:>14}{'share':>8}{'calls/' + per:>13}")
    for e in rows[:top]:
        print(f"    {e.key:<42}{e.self_cpu_time_total / 1e3 / PER[per]:>14.3f}"
              f"{100 * e.self_cpu_time_total / total:>7.1f}%{e.count / PER[per]:>13.1f}")
    return total


PER = {}


def decode_profile(arch, vocab, beam, steps, top):
    torch.set_num_threads(1)
    built = build(arch, (), src_vocab=vocab)
    src = _random_tokens(built.src_dict, 30, seed=0)
    for _ in range(2):
        translate(built, src, steps, beam)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        translate(built, src, steps, beam)
    PER["step"] = steps
    print(f"  {arch}, decoding beam {beam} (1 thread): per decoder step (encoder included, divided over steps)")
    total = table(prof, "step", top)
    print(f"    total self CPU {total / 1e3 / steps:.3f} ms/step")


def decode_counts(arch, vocab, beam, steps):
    """Operator and Python calls per decoder step (encoder included, divided over the steps)."""
    torch.set_num_threads(1)
    built = build(arch, (), src_vocab=vocab)
    src = _random_tokens(built.src_dict, 30, seed=0)
    modes = {"off": (False, False), "attn": (True, False), "layer": (True, True)} if arch.startswith("lite") else {
        "-": (True, True)}
    try:
        for mode, (enabled, layer_step) in modes.items():
            fast_step.ENABLED, fast_step.LAYER_STEP = enabled, layer_step
            translate(built, src, steps, beam)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                translate(built, src, steps, beam)
            ops = sum(e.count for e in prof.key_averages())
            python = cProfile.Profile()
            python.enable()
            translate(built, src, steps, beam)
            python.disable()
            calls = pstats.Stats(python).total_calls
            print(f"  {arch:<28} beam {beam}  fast paths {mode:<6} ATen operators {ops / steps:7.1f}/step   "
                  f"Python function calls {calls / steps:7.1f}/step")
    finally:
        fast_step.ENABLED, fast_step.LAYER_STEP = True, True


def generate_profile(arch, vocab, sentences, beam, src_len, steps, top):
    """Decoder steps of batched beam search (``sentences`` x ``beam`` hypotheses, 1 thread), as fairseq's
    SequenceGenerator drives them: one step of the whole batch, its log-probabilities and a beam reordering
    (each hypothesis takes a random one of its sentence's hypotheses as parent); the last 5 of ``steps`` steps
    profiled, so that the caches hold ``steps`` positions."""
    torch.set_num_threads(1)
    built = build(arch, (), src_vocab=vocab)
    model = built.model.eval()
    g = torch.Generator().manual_seed(0)
    src = _random_tokens(built.src_dict, src_len, seed=0).repeat(sentences, 1)
    hyps = sentences * beam
    with torch.inference_mode():
        enc = model.encoder(src, torch.full((sentences,), src_len))
        enc = model.encoder.reorder_encoder_out(enc, torch.arange(sentences).repeat_interleave(beam))
        model.decoder.set_beam_size(beam)
        tokens, state = torch.full((hyps, 1), built.tgt_dict.eos()), {}
        prof = profile(activities=[ProfilerActivity.CPU])
        for t in range(steps):
            if t == steps - 5:
                prof.__enter__()
            out, _ = model.decoder(tokens, enc, incremental_state=state)
            lprobs = torch.log_softmax(out[:, -1], dim=-1)
            new_order = (torch.arange(hyps) // beam) * beam + torch.randint(0, beam, (hyps,), generator=g)
            model.decoder.reorder_incremental_state_scripting(state, new_order)
            tokens = torch.cat([tokens[new_order], lprobs.argmax(-1, keepdim=True)], dim=1)
        prof.__exit__(None, None, None)
    PER["step"] = 5
    print(f"  {arch}, batched beam search: {sentences} sentences x beam {beam}, {src_len}-token sources, "
          f"steps {steps - 4}-{steps} (1 thread), per decoder step")
    total = table(prof, "step", top)
    print(f"    total self CPU {total / 1e3 / 5:.3f} ms/step")


def train_profile(arch, vocab, top):
    torch.set_num_threads(2)
    args = argparse.Namespace(conv_backend="auto", vocab=vocab, device="cpu", dtype="float32", max_tokens=4096,
                              src_len=30, tgt_len=30)
    r = Runner(arch, args)
    for _ in range(2):
        r.step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        r.step()
    PER["train step"] = 1
    print(f"  {arch}, one training step (2 threads, 4096 tokens)")
    total = table(prof, "train step", top)
    print(f"    total self CPU {total / 1e3:.1f} ms/step")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", action="append", metavar="LITE=TRANSFORMER")
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--top", type=int, default=18)
    p.add_argument("--sentences", type=int, default=64, help="--what generate: sentences per batch (64)")
    p.add_argument("--what", choices=("decode", "train", "both", "count", "generate"), default="both")
    a = p.parse_args()
    pairs = [s.split("=") for s in (a.pair or ["lite_transformer_wmt_200=transformer_paper_wmt_128"])]
    for pair in pairs:
        for arch in pair:
            if a.what == "count":
                decode_counts(arch, a.vocab, a.beam, a.steps)
            if a.what == "generate":
                generate_profile(arch, a.vocab, a.sentences, a.beam, a.steps, a.steps, a.top)
            if a.what in ("decode", "both"):
                decode_profile(arch, a.vocab, a.beam, a.steps, a.top)
            if a.what in ("train", "both"):
                train_profile(arch, a.vocab, a.top)


if __name__ == "__main__":
    main()
