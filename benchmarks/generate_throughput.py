"""Batch translation throughput on the CPU: fairseq's SequenceGenerator (what fairseq-generate runs), Lite
Transformer beside the Transformer of equal Mult-Adds, interleaved batch by batch.

    python benchmarks/generate_throughput.py                     # the three WMT budgets, 1,000 sentences, beam 4
    python benchmarks/generate_throughput.py --pair lite_transformer_iwslt_de_en_160=transformer_paper_iwslt_128
    python benchmarks/generate_throughput.py --sentences 200 --batch 32 --threads 1

Models: untrained ones built as fairseq-train builds them (:mod:`lite_fairseq.models.standalone`, shared
``--vocab``-word dictionary, eval mode). Sources: ``--sentences`` synthetic sentences of random tokens whose lengths
are drawn (seeded) from a log-normal distribution of median 24 tokens, clipped to 3..100 tokens (the shape of WMT
news sentences in subwords), sorted by length and cut into batches of ``--batch`` sentences as fairseq-generate's
batching does. Decoding: ``SequenceGenerator(beam_size=--beam, max_len_a=0, max_len_b=L, min_len=L)`` with L the
longest source of the batch: end-of-sentence is forbidden before step L and forced at it, so every hypothesis of
both models decodes exactly L+1 steps, whatever the untrained weights prefer.

Mult-Adds executed, output projection included, are counted by lite_fairseq's profiler for each batch (one
``L``-step incremental translation with the batch's mean source length, times ``--beam`` hypotheses on the decoder
side, times the sentences in the batch) and divided by the measured time. The two models of a pair run each batch
one after the other, the order alternating from batch to batch (and from repeat to repeat with ``--repeats``), so
that load from other processes falls on both alike. Figures are printed, never asserted.
"""

import argparse
import os
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from fairseq.sequence_generator import SequenceGenerator  # noqa: E402

from lite_fairseq.models import standalone  # noqa: E402
from lite_fairseq.profiler.latency import executed_macs  # noqa: E402

WMT_PAIRS = [
    ("lite_transformer_wmt_200", "transformer_paper_wmt_128"),
    ("lite_transformer_wmt_408", "transformer_paper_wmt_256"),
    ("lite_transformer_wmt_496", "transformer_paper_wmt_320"),
]


def parse_pair(text):
    lite, sep, base = text.partition("=")
    if not sep or not lite or not base:
        raise argparse.ArgumentTypeError(f"expected LITE_ARCH=TRANSFORMER_ARCH, got {text!r}: give LITE=TRANSFORMER, "
                                         f"two architectures, e.g. {'='.join(WMT_PAIRS[0])}")
    return lite, base


def source_lengths(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.exp(torch.randn(n, generator=g) * 0.5 + torch.log(torch.tensor(24.0)))
    return lengths.round().clamp(3, 100).long().tolist()


def make_batches(dictionary, n, batch_size, seed=0):
    """Left-padded source batches (fairseq's translation default), sentences sorted by length."""
    g = torch.Generator().manual_seed(seed + 1)
    lengths = sorted(source_lengths(n, seed))
    batches = []
    for i in range(0, n, batch_size):
        chunk = lengths[i:i + batch_size]
        width = max(chunk)
        src = torch.full((len(chunk), width), dictionary.pad(), dtype=torch.long)
        for row, length in enumerate(chunk):
            src[row, width - length:] = torch.randint(dictionary.nspecial, len(dictionary), (length,), generator=g)
            src[row, -1] = dictionary.eos()
        batches.append({"net_input": {"src_tokens": src, "src_lengths": torch.tensor(chunk)}})
    return batches


class Model:
    """``share_keys``: for a decoder that does not share a sentence's encoder-decoder keys among its hypotheses
    itself (fairseq's Transformer), switch fairseq's beamable attention on around each search (``--share-baseline
    -keys``), and count the projections once per sentence, as for Lite."""

    def __init__(self, arch, vocab, beam, share_keys=False):
        self.built = standalone.build(arch, (), src_vocab=vocab, seed=0)
        self.arch = arch
        self.model = self.built.model.eval()
        self.beam = beam
        self.forced_sharing = share_keys and not hasattr(self.model.decoder, "share_encoder_keys_across_beam")
        self.time = 0.0
        self.macs = 0
        self.sentences = 0
        self.words = 0
        self._macs_cache = {}

    def batch_macs(self, src_len, steps, sentences):
        key = (src_len, steps)
        if key not in self._macs_cache:
            self._macs_cache[key] = executed_macs(self.built, src_len, steps, self.beam,
                                                  shared_keys=True if self.forced_sharing else None)
        return self._macs_cache[key] * sentences

    def generate(self, sample, steps):
        gen = SequenceGenerator([self.model], self.built.tgt_dict, beam_size=self.beam, max_len_a=0,
                                max_len_b=steps, min_len=steps)
        if self.forced_sharing:
            self.model.decoder.set_beam_size(self.beam)
        try:
            with torch.inference_mode():
                return gen.generate([self.model], sample)
        finally:
            if self.forced_sharing:  # a full forward (the Mult-Adds count) must not see the beam
                self.model.decoder.set_beam_size(1)

    def run(self, sample, steps):
        start = time.perf_counter()
        hypos = self.generate(sample, steps)
        self.time += time.perf_counter() - start
        n = len(hypos)
        self.sentences += n
        self.words += sum(len(h[0]["tokens"]) for h in hypos)
        lengths = sample["net_input"]["src_lengths"]
        self.macs += self.batch_macs(int(lengths.float().mean().round()), steps, n)
        return hypos


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", action="append", type=parse_pair, metavar="LITE=TRANSFORMER",
                   help="architectures to compare (repeatable); default: the three WMT budgets")
    p.add_argument("--sentences", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64, help="sentences per batch (64)")
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--vocab", type=int, default=8000, help="joined dictionary size (8000)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (2)")
    p.add_argument("--repeats", type=int, default=1,
                   help="decode each batch this many times per model, the order alternating every time (1); with "
                        "one batch (--sentences = --batch) use 2 or more, or the same model always runs first")
    p.add_argument("--share-baseline-keys", action="store_true",
                   help="let the Transformer's hypotheses share a sentence's encoder-decoder keys too, as Lite's do "
                        "(fairseq's beamable attention, which fairseq-generate leaves off for fairseq's models)")
    args = p.parse_args(argv)
    for name in ("sentences", "batch", "beam", "vocab", "threads", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    torch.set_num_threads(args.threads)
    pairs = args.pair or WMT_PAIRS
    load_before = os.getloadavg()[0]
    rows = []
    for lite_arch, base_arch in pairs:
        lite = Model(lite_arch, args.vocab, args.beam)
        base = Model(base_arch, args.vocab, args.beam, share_keys=args.share_baseline_keys)
        batches = make_batches(lite.built.src_dict, args.sentences, args.batch)
        warm = batches[0]["net_input"]["src_tokens"].size(1)
        for m in (lite, base):  # warm-up (untimed, uncounted)
            m.generate(batches[0], warm)
        runs = [sample for sample in batches for _ in range(args.repeats)]
        for i, sample in enumerate(runs):
            steps = sample["net_input"]["src_tokens"].size(1)
            for m in ((lite, base) if i % 2 == 0 else (base, lite)):
                m.run(sample, steps)
        rows.append((lite, base))
    sharing = "both models' hypotheses share" if args.share_baseline_keys else "Lite's hypotheses share"
    print(f"\nGeneration throughput: SequenceGenerator, beam {args.beam} ({sharing} a sentence's encoder keys), "
          f"{args.sentences} sentences in batches of "
          f"{args.batch}{f' (each decoded {args.repeats} times)' if args.repeats > 1 else ''}, vocab {args.vocab}, "
          f"torch.set_num_threads({args.threads}), torch {torch.__version__}, "
          f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after on {os.cpu_count()} CPUs")
    print(f"{'model':<30}{'seconds':>9}{'sent/s':>8}{'words/s':>9}{'GMA/s':>8}{'Lite/Tr time':>14}"
          f"{'Lite/Tr GMA/s':>15}")
    for lite, base in rows:
        for m in (lite, base):
            tr = f"{base.time / lite.time:.2f}x" if m is lite else ""
            mr = f"{(lite.macs / lite.time) / (base.macs / base.time):.2f}x" if m is lite else ""
            print(f"{m.arch:<30}{m.time:>9.1f}{m.sentences / m.time:>8.1f}{m.words / m.time:>9.0f}"
                  f"{m.macs / m.time / 1e9:>8.2f}{tr:>14}{mr:>15}")
    print("(words: generated target tokens incl. end of sentence; GMA/s: billions of Mult-Adds executed per second, "
          "output projection included; Lite/Tr time: Transformer's time over Lite's, > 1: Lite faster)")


if __name__ == "__main__":
    main()
