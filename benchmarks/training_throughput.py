"""Training throughput at equal Mult-Adds: words per second of Lite Transformer presets against fairseq's
Transformer baselines of the same budget, measured side by side in one run.

    python benchmarks/training_throughput.py                      # CPU, the three WMT budgets of the paper
    python benchmarks/training_throughput.py --device cuda --dtype float16 --max-tokens 4096
    python benchmarks/training_throughput.py --pair lite_transformer_iwslt_de_en_160=transformer_paper_iwslt_128
    python benchmarks/training_throughput.py --iwslt --threads 2   # the WMT and the IWSLT budgets

One training step = forward, label-smoothed cross-entropy (fairseq's ``label_smoothed_nll_loss``, eps 0.1), backward
and an Adam update, on a synthetic batch of ``--max-tokens`` tokens (sentences of ``--src-len``/``--tgt-len``
random tokens, no padding) with dropout as the preset sets it. The models are the registered fairseq architectures,
built as fairseq-train builds them, on the chosen device; on CUDA the Lite models' convolutions run on the fused
Triton kernel (``--conv-backend auto``). Each round times ``--steps`` steps of every model, the order alternating
between rounds so that load changes on a shared machine hit all models alike; words/s is target tokens over the
summed time. Mult-Adds are counted by lite_fairseq's profiler (30 source / 30 target tokens, the paper's
convention). Mult-Adds/s (GMA/s) is the forward pass's Mult-Adds of one batch, output projection included (the
profiler's count of one ``--src-len``/``--tgt-len`` sentence times the sentences in a batch), per second of training
step; the backward pass roughly doubles the work of both models alike, so the Lite/Transformer ratio of Mult-Adds/s
is the issue's measure: at 1.0x Lite keeps the CPU as busy as the Transformer does.

This measures the model, not fairseq-train's data loading and logging, which cost the same for both models.
"""

import argparse
import os
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from fairseq.criterions.label_smoothed_cross_entropy import label_smoothed_nll_loss  # noqa: E402

from lite_fairseq.models import standalone  # noqa: E402  (importing lite_fairseq registers the architectures)
from lite_fairseq.profiler import profile_model  # noqa: E402
from lite_fairseq.profiler.latency import describe_ratios, round_ratios  # noqa: E402

from generate_throughput import parse_pair  # noqa: E402  (benchmarks/, beside this script)

# the paper's WMT budgets: Lite presets and the Transformer baselines within 5% of their Mult-Adds
DEFAULT_PAIRS = [
    ("lite_transformer_wmt_200", "transformer_paper_wmt_128"),
    ("lite_transformer_wmt_408", "transformer_paper_wmt_256"),
    ("lite_transformer_wmt_496", "transformer_paper_wmt_320"),
]
# the IWSLT'14 De-En budgets (--iwslt)
IWSLT_PAIRS = [
    ("lite_transformer_iwslt_de_en_160", "transformer_paper_iwslt_128"),
    ("lite_transformer_iwslt_de_en_240", "transformer_paper_iwslt_192"),
    ("lite_transformer_iwslt_de_en_320", "transformer_paper_iwslt_240"),
]
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class Runner:
    """One model with its optimizer and a fixed synthetic batch."""

    def __init__(self, arch, args):
        self.loss_fn = label_smoothed_nll_loss

        overrides = ["--conv-backend", args.conv_backend] if arch.startswith("lite_") else []
        built = standalone.build(arch, overrides, src_vocab=args.vocab, seed=0)
        self.arch = arch
        built.model.eval()  # Mult-Adds counted as the profiler counts them: one forward pass without dropout
        counted = profile_model(built, args.src_len, args.tgt_len)
        self.macs = counted.macs
        # forward Mult-Adds of one batch, output projection included
        self.sentence_macs = counted.macs + counted.macs_excluded.get("output_projection", 0)
        self.params = sum(p.numel() for p in built.model.parameters())
        self.device = torch.device(args.device)
        self.dtype = DTYPES[args.dtype]
        self.model = built.model.to(self.device).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4, betas=(0.9, 0.98))
        self.scaler = torch.amp.GradScaler(args.device, enabled=self.dtype == torch.float16)
        d = built.tgt_dict
        batch = max(1, args.max_tokens // max(args.src_len, args.tgt_len))
        g = torch.Generator().manual_seed(0)
        low = d.nspecial
        self.src = torch.randint(low, len(d), (batch, args.src_len), generator=g).to(self.device)
        self.src_lengths = torch.full((batch,), args.src_len, device=self.device)
        self.target = torch.randint(low, len(d), (batch, args.tgt_len), generator=g).to(self.device)
        self.prev = torch.cat([torch.full((batch, 1), d.eos(), device=self.device), self.target[:, :-1]], 1)
        self.pad = d.pad()
        self.words = self.target.numel()
        self.batch_macs = self.sentence_macs * batch
        self.steps = 0
        self.round_ms = []  # each round's time, in round order (round i of a pair's two models back to back)

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            logits, _ = self.model(self.src, self.src_lengths, self.prev)
        lprobs = torch.log_softmax(logits.float(), dim=-1).view(-1, logits.size(-1))
        loss, _ = self.loss_fn(lprobs, self.target.view(-1, 1), 0.1, ignore_index=self.pad)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def timed(self, steps):
        self.sync()
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        self.sync()
        self.round_ms.append((time.perf_counter() - start) * 1e3)
        self.steps += steps

    @property
    def time(self):
        """Seconds of all timed rounds."""
        return sum(self.round_ms) / 1e3

    @property
    def words_per_s(self):
        return self.words * self.steps / self.time

    @property
    def macs_per_s(self):
        return self.batch_macs * self.steps / self.time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", action="append", type=parse_pair, metavar="LITE=TRANSFORMER",
                        help="architectures to compare (repeatable); default: the paper's three WMT budgets")
    parser.add_argument("--iwslt", action="store_true",
                        help="add the three IWSLT'14 De-En budgets (160/240/320 vs transformer_paper_iwslt_*)")
    parser.add_argument("--no-wmt", action="store_true", help="leave out the WMT budgets (with --iwslt or --pair)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                        help="autocast precision of forward and backward (float32: none)")
    parser.add_argument("--conv-backend", choices=("auto", "torch", "triton"), default="auto",
                        help="the Lite models' convolution path (auto: the Triton kernel on CUDA)")
    parser.add_argument("--max-tokens", type=int, default=4096, help="tokens per batch (fairseq's --max-tokens)")
    parser.add_argument("--src-len", type=int, default=30)
    parser.add_argument("--tgt-len", type=int, default=30)
    parser.add_argument("--vocab", type=int, default=10000, help="joined dictionary size")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per model and round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    for name in ("max_tokens", "src_len", "tgt_len", "vocab", "steps", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is visible to torch")
    if args.dtype == "float16" and not args.device.startswith("cuda"):
        parser.error("--dtype float16 needs --device cuda (use bfloat16 on CPU)")
    if args.threads:
        torch.set_num_threads(args.threads)

    pairs = list(args.pair or ([] if args.no_wmt else DEFAULT_PAIRS)) + (IWSLT_PAIRS if args.iwslt else [])
    if not pairs:
        parser.error("--no-wmt leaves nothing to compare: add --iwslt or --pair")
    runners = []
    for lite, base in pairs:
        runners.append((Runner(lite, args), Runner(base, args)))
    everyone = [r for pair in runners for r in pair]
    for r in everyone:
        for _ in range(args.warmup):
            r.step()
        r.sync()
    for i in range(args.rounds):
        for r in (everyone if i % 2 == 0 else everyone[::-1]):
            r.timed(args.steps)

    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {threads} threads"
    print(f"\nTraining throughput: {device}, {args.dtype}, torch {torch.__version__}, {args.max_tokens} tokens per "
          f"batch ({args.src_len}/{args.tgt_len} tokens), vocab {args.vocab}, {args.rounds} rounds x {args.steps} "
          f"steps, load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':<34}{'Mult-Adds':>11}{'params':>9}{'words/s':>10}{'ms/step':>9}{'GMA/s':>8}"
          f"{'Lite/Tr words/s':>17}{'Lite/Tr GMA/s':>15}")
    for lite, base in runners:
        for r in (lite, base):
            ratio = f"{lite.words_per_s / base.words_per_s:.2f}x" if r is lite else ""
            mratio = f"{lite.macs_per_s / base.macs_per_s:.2f}x" if r is lite else ""
            print(f"{r.arch:<34}{r.macs / 1e6:>10.1f}M{r.params / 1e6:>8.2f}M{r.words_per_s:>10.0f}"
                  f"{1000 * r.time / r.steps:>9.1f}{r.macs_per_s / 1e9:>8.2f}{ratio:>17}{mratio:>15}")
    print("(Mult-Adds: the paper's convention, one sentence; GMA/s: forward Mult-Adds per second, output "
          "projection included)")
    print("Lite/Tr GMA/s round by round (each round's own ratio: a drift of the machine's speed between rounds "
          "cancels): median (min-max)")
    for lite, base in runners:
        r = round_ratios(lite.round_ms, lite.batch_macs, base.round_ms, base.batch_macs)
        print(f"  {lite.arch + ' / ' + base.arch:<64} {describe_ratios(r)}")


if __name__ == "__main__":
    main()
