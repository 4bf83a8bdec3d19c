"""``lite-fairseq-compress``: magnitude pruning, 8-bit quantisation and compact storage of fairseq checkpoints.

    # one step: prune 60% of the weights (one global magnitude threshold), quantise to 8 bits, write compactly
    lite-fairseq-compress compress checkpoints/checkpoint_best.pt -o compressed.pt --sparsity 0.6

    # pruning gradually while fine-tuning (recovers the BLEU that pruning costs), then store the zeros:
    fairseq-train DATA --user-dir lite_fairseq --task translation_masked --finetune-from-model ckpt.pt \\
        --prune-target-sparsity 0.7 --prune-end-update 360 --prune-frequency 30 --max-update 600 --arch ...
    lite-fairseq-compress compress checkpoints/checkpoint_last.pt -o compressed.pt --sparsity 0

    # or pruning once, then fine-tuning with the masks:
    lite-fairseq-compress prune checkpoints/checkpoint_best.pt --sparsity 0.6 --out-dir pruned/
    fairseq-train DATA --user-dir lite_fairseq --task translation_masked --prune-masks pruned/masks.pt \\
        --finetune-from-model pruned/pruned.pt --arch ... (the original model and training options) ...
    lite-fairseq-compress compress finetune/checkpoint_best.pt -o compressed.pt --masks pruned/masks.pt

    # translate from it directly
    fairseq-generate DATA --user-dir lite_fairseq --path compressed.pt ...

    lite-fairseq-compress info compressed.pt      # the size report, counted from the stored tensors

Works for ``lite_transformer`` and fairseq's ``transformer`` checkpoints alike (it reads the state dict).
"""

import argparse
import io
import json
import os
import sys
from typing import Dict, Optional, Tuple

import torch

from lite_fairseq.checkpoint_safety import CheckpointLoadError, load_checkpoint
from lite_fairseq.command_line import report_user_errors

from . import storage
from .pruning import SCOPES, apply_masks, load_masks, magnitude_prune, save_masks, sparsity_of
from .report import format_report, size_summary


def read_checkpoint(path) -> dict:
    """A fairseq checkpoint (dense, or compressed: then decompressed) with its state dict checked."""
    if not os.path.isfile(path):
        raise CheckpointLoadError(f"checkpoint {path} does not exist")
    state = load_checkpoint(path)
    if storage.is_compressed(state):
        state = storage.decompress_state(state, path)
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict) or not state["model"]:
        raise CheckpointLoadError(f"{path} is not a fairseq checkpoint (no 'model' state dict)")
    if state.get("cfg") is None and state.get("args") is None:
        raise CheckpointLoadError(f"{path} has no 'cfg' or 'args' entry: fairseq could not rebuild the model from it")
    for name, value in state["model"].items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointLoadError(f"{path}: state dict entry {name!r} is a {type(value).__name__}, not a tensor")
    return state


def inference_checkpoint(state: dict) -> dict:
    """The checkpoint without optimizer state (what generation needs)."""
    return {k: v for k, v in state.items() if k != "last_optimizer_state"}


def serialized_bytes(obj) -> int:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.tell()


def prune_state(state: dict, sparsity: Optional[float], scope: str, include_embeddings: bool,
                masks: Optional[Dict[str, torch.Tensor]], masks_source: str = "masks") -> Dict[str, torch.Tensor]:
    """Prune ``state['model']`` in place, either by magnitude or with given masks; returns the masks."""
    if masks is not None:
        apply_masks(state["model"], masks, masks_source)
        return masks
    if sparsity is None or sparsity == 0:
        return {}
    return magnitude_prune(state["model"], sparsity, scope=scope, include_embeddings=include_embeddings)


def compress(state: dict, sparsity: Optional[float] = 0.6, scope: str = "global", include_embeddings: bool = True,
             bits: Optional[int] = 8, masks=None, masks_source="masks") -> Tuple[dict, Dict[str, torch.Tensor]]:
    """Prune and quantise a checkpoint dictionary (its model state dict is modified in place). Returns the
    compressed checkpoint dictionary and the dense state dict it decodes to (pruned, and quantised-dequantised):
    the model in memory that the compressed file reproduces."""
    masks = prune_state(state, sparsity, scope, include_embeddings, masks, masks_source)
    policy = storage.StoragePolicy(bits=bits)
    info = {"sparsity": sparsity if masks_source == "masks" or sparsity else None, "scope": scope,
            "pruned_tensors": sorted(masks), "bits": bits}
    compressed = storage.compressed_checkpoint(state, policy, extra=info)
    expected = storage.decompress_state_dict(compressed[storage.MARKER])
    return compressed, expected


# ---------------------------------------------------------------------------------------------- commands

def _cmd_prune(args) -> int:
    state = read_checkpoint(args.checkpoint)
    masks = prune_state(state, args.sparsity, args.scope, not args.no_prune_embeddings, None)
    os.makedirs(args.out_dir, exist_ok=True)
    pruned_path = os.path.join(args.out_dir, "pruned.pt")
    masks_path = os.path.join(args.out_dir, "masks.pt")
    torch.save(inference_checkpoint(state), pruned_path)
    save_masks(masks, masks_path, {"source": os.path.abspath(args.checkpoint), "sparsity": args.sparsity,
                                   "scope": args.scope})
    weights = [state["model"][n] for n in masks]
    print(f"pruned {len(masks)} weight tensors of {args.checkpoint} to {sparsity_of(weights):.1%} sparsity "
          f"({args.scope} magnitude pruning)")
    for name in masks if args.verbose else ():
        print(f"  {name:<70} {sparsity_of([state['model'][name]]):6.1%}")
    print(f"wrote {pruned_path} (dense float32, pruned weights are zero) and {masks_path}")
    print("fine-tune keeping the zeros with:\n  fairseq-train DATA --user-dir lite_fairseq --task translation_masked "
          f"--prune-masks {masks_path} --finetune-from-model {pruned_path} <the original model and training "
          "options>")
    return 0


def _cmd_compress(args) -> int:
    if args.masks and args.sparsity_given:
        raise ValueError("--masks and --sparsity are alternatives: the masks already say what is pruned")
    state = read_checkpoint(args.checkpoint)
    fp32_bytes = serialized_bytes(inference_checkpoint(state))  # before pruning: the dense float32 baseline
    masks = load_masks(args.masks) if args.masks else None
    bits = None if args.no_quantize else args.bits
    compressed, _ = compress(state, args.sparsity, args.scope, not args.no_prune_embeddings, bits, masks,
                             f"--masks {args.masks}")
    torch.save(compressed, args.output)
    summary = size_summary(compressed[storage.MARKER], os.path.getsize(args.output), fp32_bytes,
                           os.path.getsize(args.checkpoint))
    print(format_report(summary, f"{args.checkpoint} -> {args.output}"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    return 0


def _cmd_info(args) -> int:
    state = load_checkpoint(args.checkpoint)
    if not storage.is_compressed(state):
        raise CheckpointLoadError(f"{args.checkpoint} is not a compressed checkpoint (no "
                                  f"{storage.MARKER!r} entry); compress it with lite-fairseq-compress compress")
    packed = state[storage.MARKER]
    dense = storage.decompress_state_dict(packed, args.checkpoint)  # also verifies the checksums
    fp32 = {k: v for k, v in state.items() if k not in (storage.MARKER, "model")}
    fp32["model"] = dense
    summary = size_summary(packed, os.path.getsize(args.checkpoint), serialized_bytes(fp32))
    print(format_report(summary, f"{args.checkpoint} (info: {packed.get('info', {})})"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lite-fairseq-compress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_pruning(p, default_sparsity):
        p.add_argument("checkpoint", help="fairseq checkpoint (lite_transformer or transformer)")
        p.add_argument("--sparsity", type=_fraction, default=default_sparsity,
                       help=f"fraction of the prunable weights set to zero (default {default_sparsity})")
        p.add_argument("--scope", choices=SCOPES, default="global",
                       help="global: one magnitude threshold over all prunable weights; layer: every weight tensor "
                            "pruned to --sparsity on its own (default global)")
        p.add_argument("--no-prune-embeddings", action="store_true",
                       help="leave the token embeddings (and a tied output projection) dense")

    p = sub.add_parser("prune", help="magnitude pruning only: a dense pruned checkpoint and a mask file for "
                                      "fine-tuning with --task translation_masked")
    add_pruning(p, 0.6)
    p.add_argument("--out-dir", required=True, help="writes pruned.pt and masks.pt here")
    p.add_argument("--verbose", action="store_true", help="print each tensor's sparsity")
    p.set_defaults(func=_cmd_prune)

    p = sub.add_parser("compress", help="prune (or apply --masks), quantise to 8 bits and write the compact file")
    add_pruning(p, 0.6)
    p.add_argument("-o", "--output", required=True, help="the compressed checkpoint to write")
    p.add_argument("--masks", help="masks from `prune` (after fine-tuning with them): apply these instead of "
                                   "magnitude pruning")
    p.add_argument("--bits", type=int, choices=[8], default=8, help="bit width of the stored weights (8)")
    p.add_argument("--no-quantize", action="store_true", help="store pruned float32 weights (no quantisation)")
    p.add_argument("--json", help="also write the size report as JSON here")
    p.set_defaults(func=_cmd_compress)

    p = sub.add_parser("info", help="size report of a compressed checkpoint, counted from its stored tensors")
    p.add_argument("checkpoint")
    p.set_defaults(func=_cmd_info)
    return parser


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def main(argv=None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.sparsity_given = any(a == "--sparsity" or a.startswith("--sparsity=") for a in argv)
    return report_user_errors(lambda: args.func(args), "lite-fairseq-compress",
                              (CheckpointLoadError, ValueError, FileNotFoundError))


def console_main():
    sys.exit(main())


if __name__ == "__main__":
    console_main()
