"""Command-line options of the ``lite_transformer_lm`` language model, and the checks of its adaptive input and
adaptive softmax settings against the dictionary (made before any weight is allocated)."""

from dataclasses import dataclass
from typing import List, Optional

from .lite_transformer_options import add_common_args, add_side_args, bool_option


def add_lite_transformer_lm_args(parser):
    """Options of the decoder-only model (``add_args``). Names follow fairseq's ``transformer_lm`` where the
    concept is the same, so a Transformer LM command line carries over."""
    add_common_args(parser)
    add_side_args(parser, "decoder")
    # In an LM the only attention is the self-attention branch of LSRA: --decoder-attention-heads (the
    # transformer_lm name) sets the heads of that branch.
    parser.add_argument("--decoder-attention-heads", type=int, metavar="N", dest="decoder_attn_branch_heads",
                        help="heads of the attention branch of each LSRA layer (same as --decoder-attn-branch-heads)")
    parser.add_argument("--decoder-output-dim", type=int, metavar="N",
                        help="decoder output dimension (must equal --decoder-embed-dim)")
    parser.add_argument("--decoder-input-dim", type=int, metavar="N",
                        help="decoder input dimension (must equal --decoder-embed-dim)")
    _add_flag(parser, "--no-decoder-final-norm", "no layer norm after the last (pre-norm) layer")
    _add_flag(parser, "--share-decoder-input-output-embed",
              "share input embeddings and output projection (plain embeddings only)")
    _add_flag(parser, "--adaptive-input",
              "adaptive input embeddings (Baevski & Auli, 2019): frequent words get wider vectors")
    # the adaptive input and the adaptive softmax both split the dictionary by frequency, each part narrower
    for part, pieces in (("input", "bands"), ("softmax", "tail clusters")):
        parser.add_argument(f"--adaptive-{part}-cutoff", metavar="EXPR",
                            help=f"comma-separated boundaries of the adaptive {part}'s {pieces}, e.g. 20000,60000"
                                 + (" (train with --criterion adaptive_loss)" if part == "softmax" else ""))
        parser.add_argument(f"--adaptive-{part}-factor", type=float, metavar="N",
                            help=f"each of the adaptive {part}'s {pieces} is this factor narrower than the one before")
    parser.add_argument("--adaptive-softmax-dropout", type=float, metavar="D",
                        help="dropout in the tail projections of the adaptive softmax")
    _add_flag(parser, "--tie-adaptive-weights", "tie the adaptive softmax word embeddings to the adaptive input ones")
    _add_flag(parser, "--tie-adaptive-proj",
              "also tie the tail projections of the adaptive softmax and the adaptive input")


def _add_flag(parser, flag: str, help: str) -> None:
    """A ``--flag [BOOL]`` switch: ``--flag`` alone turns it on, ``--flag False`` turns a preset's True off."""
    parser.add_argument(flag, type=bool_option, nargs="?", const=True, metavar="BOOL", help=help)


def parse_cutoffs(value, option: str, vocab_size: int) -> Optional[List[int]]:
    """``"20000,60000"`` (or a list) -> ``[20000, 60000]``; None or empty -> None. The cutoffs must increase and
    stay within the dictionary (fairseq's modules would otherwise fail on a bare assertion)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        pieces = [p for p in value.replace("[", " ").replace("]", " ").replace(",", " ").split()]
    else:
        pieces = list(value)
    try:
        cutoffs = [int(p) for p in pieces]
    except (TypeError, ValueError):
        raise ValueError(f"{option}: expected comma-separated integers such as 20000,60000, got {value!r}") from None
    if not cutoffs:
        return None
    if cutoffs[0] < 1 or any(b <= a for a, b in zip(cutoffs, cutoffs[1:])):
        raise ValueError(f"{option}: cutoffs must be positive and strictly increasing, got {cutoffs}")
    if cutoffs[-1] > vocab_size:
        raise ValueError(
            f"{option}: cutoffs {','.join(map(str, cutoffs))} do not fit a dictionary of {vocab_size} symbols (each "
            f"must be at most {vocab_size}); the paper's 20000,60000 is for WikiText-103's 267k-word vocabulary, "
            "pass smaller cutoffs for a smaller dictionary (the same ones to --adaptive-input-cutoff and "
            "--adaptive-softmax-cutoff when the weights are tied)")
    return cutoffs


@dataclass
class AdaptiveSettings:
    """The adaptive input / softmax settings, resolved and checked."""

    input_cutoff: Optional[List[int]]  # None: plain embeddings
    softmax_cutoff: Optional[List[int]]  # None: a full output projection


def resolve_adaptive_settings(args, vocab_size: int) -> AdaptiveSettings:
    embed_dim = args.decoder_embed_dim
    for option in ("decoder_input_dim", "decoder_output_dim"):
        value = getattr(args, option, embed_dim)
        if value is not None and value != embed_dim:
            raise ValueError(f"--{option.replace('_', '-')} {value} must equal --decoder-embed-dim {embed_dim} "
                             "(separate input/output widths are not supported)")
    input_cutoff = None
    if args.adaptive_input:
        input_cutoff = parse_cutoffs(args.adaptive_input_cutoff, "--adaptive-input-cutoff", vocab_size)
        if input_cutoff is None:
            raise ValueError("--adaptive-input needs --adaptive-input-cutoff (e.g. 20000,60000)")
    softmax_cutoff = parse_cutoffs(args.adaptive_softmax_cutoff, "--adaptive-softmax-cutoff", vocab_size)
    for name in ("adaptive_input_factor", "adaptive_softmax_factor"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if input_cutoff is not None:
        narrowest = int(embed_dim // (args.adaptive_input_factor ** len(input_cutoff)))
        if narrowest < 1:
            raise ValueError(f"--adaptive-input-factor {args.adaptive_input_factor} with {len(input_cutoff)} cutoffs "
                             f"leaves the last band of --decoder-embed-dim {embed_dim} with no width")
    if args.tie_adaptive_weights:
        problems = []
        if input_cutoff is None:
            problems.append("--adaptive-input is off")
        if softmax_cutoff is None:
            problems.append("--adaptive-softmax-cutoff is not set")
        if input_cutoff is not None and softmax_cutoff is not None and input_cutoff != softmax_cutoff:
            problems.append(f"--adaptive-input-cutoff {input_cutoff} differs from --adaptive-softmax-cutoff "
                            f"{softmax_cutoff}")
        if args.adaptive_input_factor != args.adaptive_softmax_factor:
            problems.append(f"--adaptive-input-factor {args.adaptive_input_factor} differs from "
                            f"--adaptive-softmax-factor {args.adaptive_softmax_factor}")
        if problems:
            raise ValueError("--tie-adaptive-weights needs an adaptive input and an adaptive softmax of the same "
                             "shape: " + "; ".join(problems))
    elif args.tie_adaptive_proj:
        raise ValueError("--tie-adaptive-proj needs --tie-adaptive-weights")
    if softmax_cutoff is not None and args.share_decoder_input_output_embed:
        raise ValueError("--share-decoder-input-output-embed cannot be combined with --adaptive-softmax-cutoff; tie "
                         "an adaptive softmax to the adaptive input with --tie-adaptive-weights")
    if input_cutoff is not None and args.share_decoder_input_output_embed:
        raise ValueError("--share-decoder-input-output-embed needs plain embeddings, not --adaptive-input; use an "
                         "adaptive softmax with --tie-adaptive-weights")
    return AdaptiveSettings(input_cutoff, softmax_cutoff)
