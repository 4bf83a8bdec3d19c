"""CPU decoding speed and BLEU: float32 against dynamic int8 linear layers, in one run, side by side.

    python benchmarks/cpu_int8_inference.py DATA_BIN --checkpoint lite=ckpt/checkpoint_best.pt \\
        [--checkpoint compressed=compressed.pt] [--subset test] [--beam 4] [--threads 2] [--rounds 3] \\
        [--int8-impl torch.ao --int8-impl torchao]

For every checkpoint the model is loaded through fairseq (so compressed checkpoints work too) and measured as it
is (fp32) and once per ``--int8-impl`` (default: every implementation) with its ``nn.Linear`` layers converted by
:func:`lite_fairseq.compression.quantize_dynamic_for_cpu` (what ``--model-overrides "{'cpu_int8': True}"`` does in
fairseq-generate): ``torch.ao`` is ``torch.ao.quantization.quantize_dynamic``, ``torchao`` is torchao's
``quantize_`` with ``Int8DynamicActivationInt8WeightConfig``. Each round translates the whole subset with every
model, in alternating order, so that load changes on a shared machine hit all variants alike; sentences per second
are total sentences over total decoding time. BLEU is corpus BLEU (sacrebleu, tokenised text after removing BPE,
``tokenize='none'``) against the subset's references, as fairseq-generate's BLEU line computes it.
"""

import argparse
import copy
import os
import sys
import time

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import sacrebleu  # noqa: E402
from fairseq import checkpoint_utils, utils  # noqa: E402
from omegaconf import open_dict  # noqa: E402

from lite_fairseq.compression import quantize_dynamic_for_cpu  # noqa: E402  (importing lite_fairseq registers it)
from lite_fairseq.modules.int8 import INT8_IMPLS  # noqa: E402


def load(path, data, subset):
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([path], arg_overrides={"data": data})
    task.load_dataset(subset)
    return models[0].eval(), cfg, task


def batches(task, subset, batch_size, model):
    itr = task.get_batch_iterator(dataset=task.dataset(subset), max_sentences=batch_size,
                                  max_positions=utils.resolve_max_positions(task.max_positions(),
                                                                            model.max_positions()),
                                  ignore_invalid_inputs=False, required_batch_size_multiple=1, num_workers=0,
                                  seed=1).next_epoch_itr(shuffle=False)
    return list(itr)


def translate(model, task, generator_args, samples):
    generator = task.build_generator([model], generator_args)
    tgt = task.target_dictionary
    hyps, refs = {}, {}
    start = time.perf_counter()
    with torch.no_grad():
        for sample in samples:
            out = task.inference_step(generator, [model], sample)
            for i, sid in enumerate(sample["id"].tolist()):
                hyps[sid] = tgt.string(out[i][0]["tokens"].int(), bpe_symbol="@@ ", escape_unk=True)
                target = sample["target"][i]
                refs[sid] = tgt.string(target[target.ne(tgt.pad())].int(), bpe_symbol="@@ ", escape_unk=True)
    return time.perf_counter() - start, hyps, refs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="fairseq data-bin directory of the checkpoints")
    parser.add_argument("--checkpoint", action="append", required=True, metavar="NAME=PATH",
                        help="checkpoint to measure (repeatable)")
    parser.add_argument("--subset", default="test")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--max-sentences", type=int, default=0, help="only the first N batches' sentences (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--int8-impl", action="append", choices=INT8_IMPLS,
                        help="int8 implementation to measure (repeatable; default: all of them)")
    args = parser.parse_args(argv)
    impls = args.int8_impl or list(INT8_IMPLS)

    torch.set_num_threads(args.threads)
    variants = []
    for spec in args.checkpoint:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--checkpoint expects NAME=PATH, got {spec!r}")
        if not os.path.isfile(path):
            parser.error(f"--checkpoint {spec}: {path} does not exist")
        model, cfg, task = load(path, args.data, args.subset)
        gen_args = copy.deepcopy(cfg.generation)
        with open_dict(gen_args):
            gen_args.beam = args.beam
        samples = batches(task, args.subset, args.batch_size, model)
        if args.max_sentences:
            kept, n = [], 0
            for s in samples:
                if n >= args.max_sentences:
                    break
                kept.append(s)
                n += s["nsentences"]
            samples = kept
        n_sent = sum(s["nsentences"] for s in samples)
        size_mb = os.path.getsize(path) / 1e6
        variants.append({"name": f"{name} fp32", "model": model, "task": task, "gen": gen_args, "samples": samples,
                         "n": n_sent, "time": 0.0, "file_mb": size_mb, "base": f"{name} fp32"})
        for impl in impls:
            int8 = quantize_dynamic_for_cpu(copy.deepcopy(model), impl)
            variants.append({"name": f"{name} int8 {impl}", "model": int8,
                             "task": task, "gen": gen_args, "samples": samples, "n": n_sent, "time": 0.0,
                             "file_mb": size_mb, "base": f"{name} fp32"})

    for v in variants:  # warm-up (also the BLEU: decoding is deterministic)
        _, v["hyps"], v["refs"] = translate(v["model"], v["task"], v["gen"], v["samples"][:1])
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else list(reversed(variants))
        for v in order:
            elapsed, hyps, refs = translate(v["model"], v["task"], v["gen"], v["samples"])
            v["time"] += elapsed
            v["hyps"], v["refs"] = hyps, refs
    by_name = {v["name"]: v for v in variants}
    print(f"\nCPU decoding, beam {args.beam}, batch {args.batch_size}, {args.threads} threads, {args.rounds} rounds, "
          f"subset {args.subset}, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<30}{'sentences':>10}{'sent/s':>10}{'speed-up':>10}{'BLEU':>8}{'dBLEU':>8}")
    for v in variants:
        ids = sorted(v["hyps"])
        bleu = sacrebleu.corpus_bleu([v["hyps"][i] for i in ids], [[v["refs"][i] for i in ids]],
                                     tokenize="none").score
        v["bleu"] = bleu
        base = by_name[v["base"]]
        speed = v["n"] * args.rounds / v["time"]
        base_speed = base["n"] * args.rounds / base["time"]
        print(f"{v['name']:<30}{v['n']:>10}{speed:>10.2f}{speed / base_speed:>9.2f}x{bleu:>8.2f}"
              f"{bleu - base.get('bleu', bleu):>8.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
