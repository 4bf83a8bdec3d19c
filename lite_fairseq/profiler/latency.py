"""CPU latency of translating one sentence, Lite Transformer beside the Transformer of equal Mult-Adds.

One translation = the encoder over a ``src_len``-token source, then exactly ``steps`` incremental decoder steps
(greedy, or beam search with ``beam`` hypotheses, log-softmax over the vocabulary, top-k, and the reordering of
the incremental state that fairseq's generator does). The end-of-sentence token is never chosen, so every run
decodes the same number of steps whatever the (random) weights prefer. Each figure is the median (and the
minimum) of ``repeats`` timed runs after ``warmup`` untimed ones, the two models' runs interleaved; Lite's
Mult-Adds/s over the Transformer's is also given round by round (median and range of the rounds' own ratios).
Timings are printed, never asserted: they depend on the machine.
"""

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .building import TRANSLATION, BuiltModel, ProfilerError, build
from .counting import profile_model

PAPER_BUDGET_PAIRS: Tuple[Tuple[str, str], ...] = (
    ("lite_transformer_wmt_200", "transformer_paper_wmt_128"),  # ~90M Mult-Adds
    ("lite_transformer_wmt_408", "transformer_paper_wmt_256"),  # ~350M
    ("lite_transformer_wmt_496", "transformer_paper_wmt_320"),  # ~527M
)


def _random_tokens(dictionary, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(dictionary.nspecial, len(dictionary), (1, length), generator=g)


@torch.inference_mode()
def translate(built: BuiltModel, src_tokens: torch.Tensor, steps: int, beam: int) -> torch.Tensor:
    """Encode, then decode exactly ``steps`` tokens with beam search (``beam=1``: greedy). Returns beam x steps."""
    model, tgt_dict = built.model, built.tgt_dict
    device = next(model.parameters()).device  # the CPU, or the GPU the caller moved the model to
    src_tokens = src_tokens.to(device)
    encoder_out = model.encoder(src_tokens, src_lengths=torch.tensor([src_tokens.size(1)], device=device))
    if beam > 1:
        encoder_out = model.encoder.reorder_encoder_out(encoder_out,
                                                        torch.zeros(beam, dtype=torch.long, device=device))
    tokens = torch.full((beam, 1), tgt_dict.eos(), dtype=torch.long, device=device)
    scores = torch.zeros(beam, device=device)
    if beam > 1:
        scores[1:] = float("-inf")  # all hypotheses start identical: keep one of them at the first step
    state: Dict = {}
    banned = [tgt_dict.pad(), tgt_dict.eos(), tgt_dict.bos()]
    for _ in range(steps):
        logits, _ = model.decoder(tokens, encoder_out=encoder_out, incremental_state=state)
        lprobs = torch.log_softmax(logits[:, -1, :].float(), dim=-1)
        lprobs[:, banned] = float("-inf")
        vocab = lprobs.size(1)
        best, index = (scores.unsqueeze(1) + lprobs).view(-1).topk(beam)
        origin = torch.div(index, vocab, rounding_mode="floor")
        if beam > 1:
            model.decoder.reorder_incremental_state_scripting(state, origin)
        tokens = torch.cat([tokens.index_select(0, origin), (index % vocab).unsqueeze(1)], dim=1)
        scores = best
    return tokens[:, 1:]


def time_translations(builts: Sequence[BuiltModel], src_len: int = 30, steps: int = 30, beam: int = 1,
                      repeats: int = 15, warmup: int = 3, cpu_time: bool = False) -> List[Tuple[float, float]]:
    """(median, minimum) wall-clock milliseconds of :func:`translate` on one sentence, for each model (the
    timings of :func:`time_rounds`)."""
    return [(statistics.median(t), min(t)) for t in time_rounds(builts, src_len, steps, beam, repeats, warmup,
                                                                 cpu_time)]


def time_rounds(builts: Sequence[BuiltModel], src_len: int = 30, steps: int = 30, beam: int = 1,
                repeats: int = 15, warmup: int = 3, cpu_time: bool = False) -> List[List[float]]:
    """Milliseconds of each of ``repeats`` runs of :func:`translate` on one sentence, for each model.

    The models' runs are interleaved (run 1 of each model, then run 2 of each, ...), so that load from other
    processes on a shared machine falls on all of them alike. A model the caller moved to a GPU runs there, each
    timed run between two ``torch.cuda.synchronize()`` calls."""
    for built in builts:
        if built.task != TRANSLATION:
            raise ProfilerError(f"--latency: --arch {built.arch} is not a translation model")
    if repeats < 1 or warmup < 0 or beam < 1 or steps < 1:
        raise ProfilerError("--latency: --repeats, --beam and the step count must be positive")
    sources = [_random_tokens(b.src_dict, src_len, seed=0) for b in builts]
    for _ in range(warmup):
        for built, src in zip(builts, sources):
            translate(built, src, steps, beam)
    clock = time.process_time if cpu_time else time.perf_counter
    sync = torch.cuda.synchronize if any(next(b.model.parameters()).is_cuda for b in builts) else (lambda: None)
    times: List[List[float]] = [[] for _ in builts]
    for _ in range(repeats):
        for i, (built, src) in enumerate(zip(builts, sources)):
            sync()
            start = clock()
            translate(built, src, steps, beam)
            sync()
            times[i].append((clock() - start) * 1e3)
    return times


def round_ratios(lite_ms: Sequence[float], lite_macs: int, base_ms: Sequence[float], base_macs: int) -> List[float]:
    """Lite's Mult-Adds/s over the baseline's, one ratio per round (the two ran one after the other in that round,
    so a drift of the machine's speed between rounds cancels), sorted."""
    return sorted((lite_macs / a) / (base_macs / b) for a, b in zip(lite_ms, base_ms))


def describe_ratios(ratios: Sequence[float]) -> str:
    """``median (min-max)`` of :func:`round_ratios`, e.g. ``0.94x (0.89-1.06)``."""
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


@dataclass
class LatencyRow:
    arch: str
    macs: int
    params_without_embeddings: int
    greedy_ms: float
    beam_ms: float
    greedy_min_ms: float
    beam_min_ms: float
    # Mult-Adds one translation executes, output projection included: encoder once, then per hypothesis the
    # incremental decoder steps and their output projections (greedy: 1 hypothesis, beam search: ``beam``)
    greedy_executed_macs: int = 0
    beam_executed_macs: int = 0
    # every timed run, in round order (round i of both models of a pair ran back to back)
    greedy_rounds_ms: List[float] = field(default_factory=list)
    beam_rounds_ms: List[float] = field(default_factory=list)

    @property
    def greedy_macs_per_s(self) -> float:
        return self.greedy_executed_macs / (self.greedy_ms / 1e3)

    @property
    def beam_macs_per_s(self) -> float:
        return self.beam_executed_macs / (self.beam_ms / 1e3)


def executed_macs(built: BuiltModel, src_len: int, steps: int, hypotheses: int,
                  shared_keys: Optional[bool] = None) -> int:
    """Mult-Adds of translating one ``src_len``-token sentence in ``steps`` incremental steps with ``hypotheses``
    hypotheses, output projection included (the profiler's count, excluded parts added back). A decoder that lets
    a sentence's hypotheses share its encoder-decoder keys and values executes those projections once, and is
    counted so: ``shared_keys`` says whether it does; None: as the model does by itself (Lite's decoder in beam
    search; fairseq's Transformer projects them for every hypothesis unless its beam size is set)."""
    if shared_keys is None:
        shared_keys = hasattr(built.model.decoder, "share_encoder_keys_across_beam")
    p = profile_model(built, src_len, steps, decoder_mode="incremental")
    macs = p.macs_encoder + hypotheses * (p.macs_decoder + p.macs_excluded.get("output_projection", 0))
    if hypotheses > 1 and shared_keys:
        macs -= (hypotheses - 1) * encoder_key_macs(built.model.decoder, src_len)
    return macs


def encoder_key_macs(decoder, src_len: int) -> int:
    """Mult-Adds of projecting one sentence's encoder-decoder keys and values in every decoder layer (a layer
    reading the last N encoder layers projects N x ``src_len`` positions)."""
    macs = 0
    for idx, layer in enumerate(decoder.layers):
        attn = getattr(layer, "encoder_attn", None)
        if attn is None:
            continue
        rows = src_len * (decoder.ende_layers[idx] if hasattr(decoder, "ende_layers") else 1)
        macs += rows * sum(proj.in_features * proj.out_features for proj in (attn.k_proj, attn.v_proj))
    return macs


def measure_pairs(pairs: Sequence[Tuple[str, str]], overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
                  tgt_vocab: Optional[int] = None, src_len: int = 30, steps: int = 30, beam: int = 4,
                  repeats: int = 15, warmup: int = 3, threads: int = 1, cpu_time: bool = False
                  ) -> List[Tuple[LatencyRow, LatencyRow]]:
    """Time each (lite, baseline) pair in this process; ``overrides`` apply to the Lite architecture only.
    ``cpu_time``: the process's CPU time instead of wall time (steadier on a loaded machine, with one thread)."""
    if threads < 1:
        raise ProfilerError(f"--threads must be at least 1, got {threads}")
    results = []
    for lite_arch, base_arch in pairs:
        builts = [build(lite_arch, overrides, src_vocab=src_vocab, tgt_vocab=tgt_vocab),
                  build(base_arch, (), src_vocab=src_vocab, tgt_vocab=tgt_vocab)]
        profiles = [profile_model(b, src_len, steps) for b in builts]
        executed = [(executed_macs(b, src_len, steps, 1), executed_macs(b, src_len, steps, beam)) for b in builts]
        torch.set_num_threads(threads)
        greedy = time_rounds(builts, src_len, steps, 1, repeats, warmup, cpu_time)
        beamed = time_rounds(builts, src_len, steps, beam, repeats, warmup, cpu_time)
        results.append(tuple(
            LatencyRow(b.arch, p.macs, p.params_without_embeddings, statistics.median(g), statistics.median(bm),
                       min(g), min(bm), e[0], e[1], g, bm)
            for b, p, g, bm, e in zip(builts, profiles, greedy, beamed, executed)))
    return results


def format_latency(results, beam: int, threads: int, repeats: int, src_len: int, steps: int,
                   cpu_time: bool = False) -> str:
    clock = "process CPU time" if cpu_time else "wall time"
    lines = [f"CPU latency ({clock}) of translating one {src_len}-token sentence ({steps} decoder steps): "
             f"median (minimum) of "
             f"{repeats} interleaved runs, torch.set_num_threads({threads}), torch {torch.__version__}; "
             f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
             f"  {'architecture':<30}{'Mult-Adds':>11}{'#Params*':>10}{'greedy ms':>20}{f'beam-{beam} ms':>20}"
             f"{'greedy GMA/s':>14}{f'beam-{beam} GMA/s':>14}"]
    for lite, base in results:
        for r in (lite, base):
            lines.append(f"  {r.arch:<30}{r.macs / 1e6:>10.1f}M{r.params_without_embeddings / 1e6:>9.2f}M"
                         f"{r.greedy_ms:>12.1f} ({r.greedy_min_ms:5.1f}){r.beam_ms:>12.1f} ({r.beam_min_ms:5.1f})"
                         f"{r.greedy_macs_per_s / 1e9:>14.2f}{r.beam_macs_per_s / 1e9:>14.2f}")
        lines.append(f"  {'  ratio Transformer / Lite':<30}{base.macs / lite.macs:>10.2f}x{'':>10}"
                     f"{base.greedy_ms / lite.greedy_ms:>11.2f}x ({base.greedy_min_ms / lite.greedy_min_ms:4.2f}x)"
                     f"{base.beam_ms / lite.beam_ms:>11.2f}x ({base.beam_min_ms / lite.beam_min_ms:4.2f}x)"
                     f"{'':>14}{'':>14}")
        lines.append(f"  {'  ratio Lite / Transformer':<30}{'':>11}{'':>10}{'':>20}{'':>20}"
                     f"{lite.greedy_macs_per_s / base.greedy_macs_per_s:>13.2f}x"
                     f"{lite.beam_macs_per_s / base.beam_macs_per_s:>13.2f}x")
        if lite.greedy_rounds_ms and base.greedy_rounds_ms:
            cells = []
            for kind, lite_ms, base_ms, lite_macs, base_macs in (
                    ("greedy", lite.greedy_rounds_ms, base.greedy_rounds_ms, lite.greedy_executed_macs,
                     base.greedy_executed_macs),
                    (f"beam {beam}", lite.beam_rounds_ms, base.beam_rounds_ms, lite.beam_executed_macs,
                     base.beam_executed_macs)):
                cells.append(f"{kind} {describe_ratios(round_ratios(lite_ms, lite_macs, base_ms, base_macs))}")
            lines.append("    ratio Lite / Transformer, round by round (median, min-max): " + "   ".join(cells))
    lines.append("  (* #Params without embeddings and output projection; Mult-Adds in the paper's convention;"
                 " time ratio > 1: Lite is faster)")
    lines.append("  (GMA/s: billions of Mult-Adds executed per second, output projection included: encoder once, "
                 "decoder steps and output projection once per hypothesis; ratio >= 1: Lite keeps the CPU as busy)")
    return "\n".join(lines)


def results_to_dict(results) -> list:
    out = []
    for lite, base in results:
        out.append({"lite": vars(lite), "baseline": vars(base),
                    "greedy_ratio": base.greedy_ms / lite.greedy_ms, "beam_ratio": base.beam_ms / lite.beam_ms,
                    "greedy_macs_per_s": {"lite": lite.greedy_macs_per_s, "baseline": base.greedy_macs_per_s},
                    "beam_macs_per_s": {"lite": lite.beam_macs_per_s, "baseline": base.beam_macs_per_s},
                    "greedy_macs_per_s_ratio": lite.greedy_macs_per_s / base.greedy_macs_per_s,
                    "beam_macs_per_s_ratio": lite.beam_macs_per_s / base.beam_macs_per_s,
                    "greedy_macs_per_s_ratio_by_round": round_ratios(lite.greedy_rounds_ms, lite.greedy_executed_macs,
                                                                     base.greedy_rounds_ms, base.greedy_executed_macs),
                    "beam_macs_per_s_ratio_by_round": round_ratios(lite.beam_rounds_ms, lite.beam_executed_macs,
                                                                   base.beam_rounds_ms, base.beam_executed_macs)})
    return out
