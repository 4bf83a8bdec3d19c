"""Command-line options of the ``lite_transformer`` model, and their resolution into one
:class:`~lite_fairseq.modules.LayerConfig` per layer (:func:`resolve_side_layout`). Read next:
:mod:`.branch_options` (parsing of the branch and kernel size options), then :mod:`lite_fairseq.modules`."""

import argparse
from dataclasses import dataclass
from typing import Tuple

from fairseq import utils

from lite_fairseq.kernels import BACKENDS
from lite_fairseq.modules import CONV_TYPES, LayerConfig

from .branch_options import (BranchSpecError, check_branch_widths_option, default_branch_specs, parse_branch_spec,
                             parse_branch_specs, parse_int_list, parse_kernel_size_list, parse_layer_branches,
                             split_list_argument)


def bool_option(value) -> bool:
    """``--flag`` alone means True; ``--flag False`` / ``--flag 0`` turns a preset's True off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False/1/0), got {value!r}")


def branch_spec_token(token: str) -> str:
    """argparse type: validate each ``type:kernel:dim:heads`` word, keep the text (checkpoints store text)."""
    for piece in split_list_argument(token):
        try:
            parse_branch_spec(piece, option="branch type")
        except BranchSpecError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return token


def layer_branches_token(token: str) -> str:
    """argparse type: one layer's ``+``-joined branches, each ``type:kernel:dim:heads``; keeps the text."""
    try:
        parse_layer_branches([token], 1, "--*-layer-branches")
    except BranchSpecError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None
    return token


def positive_ints(what: str):
    """argparse type: a word of positive integers (``7``, ``[3,7,15]``), checked; keeps the text (checkpoints store
    text). ``what`` names the values in the message."""
    def check(token: str) -> str:
        for piece in split_list_argument(token):
            try:
                if int(piece) < 1:
                    raise ValueError
            except ValueError:
                raise argparse.ArgumentTypeError(f"{what} must be positive integers, got {piece!r}") from None
        return token
    check.__name__ = "positive_ints"
    return check


positive_int_token = positive_ints("values")
kernel_size_token = positive_ints("kernel sizes")


def add_lite_transformer_args(parser):
    """Options of the encoder-decoder model (``add_args``)."""
    add_common_args(parser)
    add_side_args(parser, "encoder")
    add_side_args(parser, "decoder")
    parser.add_argument("--decoder-attention-heads", type=int, metavar="N",
                        help="heads of the full-width encoder-decoder attention in each decoder layer")
    parser.add_argument("--decoder-attention-heads-list", nargs="+", type=positive_int_token, metavar="N",
                        help="heads of the encoder-decoder attention of each decoder layer, one per layer "
                             "(overrides --decoder-attention-heads)")
    parser.add_argument("--decoder-ende-attn-layers", nargs="+", type=positive_int_token, metavar="N",
                        help="how many of the last encoder layers each decoder layer's encoder-decoder attention "
                             "reads, one per decoder layer (default 1: the encoder's output); N > 1 attends over "
                             "the encoder output followed by the outputs of the N-1 encoder layers before the last, "
                             "joined along the source positions (HAT's arbitrary encoder-decoder attention)")
    parser.add_argument("--decoder-output-dim", type=int, metavar="N",
                        help="decoder output dimension (must equal --decoder-embed-dim)")
    parser.add_argument("--share-decoder-input-output-embed", type=bool_option, nargs="?", const=True,
                        metavar="BOOL", help="share decoder input embeddings and output projection")
    parser.add_argument("--share-all-embeddings", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help="share encoder, decoder and output embeddings (needs a joined dictionary and equal "
                             "embedding dimensions)")


def add_common_args(parser):
    parser.add_argument("--activation-fn", choices=utils.get_available_activation_fns(),
                        help="activation function of the feed-forward blocks")
    parser.add_argument("--dropout", type=float, metavar="D", help="dropout probability")
    parser.add_argument("--attention-dropout", type=float, metavar="D",
                        help="dropout probability for attention weights")
    parser.add_argument("--activation-dropout", "--relu-dropout", type=float, metavar="D",
                        help="dropout probability after the activation in the feed-forward blocks")
    parser.add_argument("--weight-dropout", type=float, metavar="D",
                        help="DropConnect probability on the (normalised) convolution kernels")
    parser.add_argument("--weight-softmax", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help="normalise convolution kernels with a softmax over taps (default True)")
    parser.add_argument("--conv-backend", choices=BACKENDS,
                        help="convolution implementation: auto (fused GPU kernel for CUDA tensors when available, "
                             "PyTorch otherwise), torch, or triton (for debugging)")
    parser.add_argument("--conv-mask-before-linear", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help="zero padded positions before the convolution branch's input projection, as the "
                             "authors' code does (padding then enters the convolution as the projection's bias), "
                             "instead of after it (default False: padding never changes real positions); set by "
                             "lite-fairseq-convert")
    parser.add_argument("--no-token-positional-embeddings", type=bool_option, nargs="?", const=True,
                        metavar="BOOL", help="disable positional embeddings (outside self-attention)")


def add_side_args(parser, side: str):
    """Options that exist once for the encoder and once for the decoder."""
    s = side
    parser.add_argument(f"--{s}-embed-path", type=str, metavar="STR",
                        help=f"path to pre-trained {s} embeddings (text format)")
    parser.add_argument(f"--{s}-embed-dim", type=int, metavar="N", help=f"{s} embedding dimension d")
    parser.add_argument(f"--{s}-ffn-embed-dim", type=int, metavar="N",
                        help=f"{s} feed-forward hidden size (Lite Transformer flattens it to d)")
    parser.add_argument(f"--{s}-ffn-embed-dim-list", nargs="+", type=positive_int_token, metavar="N",
                        help=f"feed-forward hidden size of each {s} layer, one per layer (overrides "
                             f"--{s}-ffn-embed-dim)")
    parser.add_argument(f"--{s}-layers", type=int, metavar="N", help=f"number of {s} layers")
    parser.add_argument(f"--{s}-normalize-before", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help=f"pre-norm: apply layer norm before each {s} block (default: post-norm)")
    parser.add_argument(f"--{s}-learned-pos", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help=f"learned (instead of sinusoidal) positional embeddings in the {s}")
    parser.add_argument(f"--{s}-branch-type", nargs="+", type=branch_spec_token, metavar="TYPE:KERNEL:DIM:HEADS",
                        help=f"explicit LSRA branches of every {s} layer, in the authors' format, e.g. "
                             "attn:1:248:4 dynamic:default:248:4 (widths must add up to the embedding dimension; "
                             "'default' takes the kernel size from the kernel size list). Overrides the "
                             f"--{s}-attn-branch-*/--{s}-conv-* options")
    parser.add_argument(f"--{s}-layer-branches", nargs="+", type=layer_branches_token,
                        metavar="TYPE:KERNEL:DIM:HEADS[+...]",
                        help=f"LSRA branches of each {s} layer, one word per layer, a layer's branches joined by "
                             "'+', e.g. attn:1:64:2+dynamic:default:192:4 dynamic:7:256:4 attn:1:256:4 (widths add "
                             "up to the embedding dimension; 'default' takes the layer's entry of the kernel size "
                             f"list). Overrides --{s}-attn-branch-*/--{s}-conv-*; not with --{s}-branch-type")
    parser.add_argument(f"--{s}-attn-branch-dim", type=int, metavar="N",
                        help=f"channels of each {s} LSRA layer that go to attention (default d/2); the rest go "
                             "to the convolution branch (0 = convolution only, d = attention only)")
    # fairseq users type --encoder-attention-heads; on the decoder that name means the encoder-decoder attention
    names = [f"--{s}-attn-branch-heads"] + (["--encoder-attention-heads"] if s == "encoder" else [])
    parser.add_argument(*names, type=int, metavar="N", dest=f"{s}_attn_branch_heads",
                        help=f"heads of the attention branch of each {s} LSRA layer")
    parser.add_argument(f"--{s}-conv-branch-heads", type=int, metavar="N",
                        help=f"weight-sharing heads of the convolution branch of each {s} layer")
    parser.add_argument(f"--{s}-conv-type", choices=CONV_TYPES,
                        help=f"convolution of the {s} LSRA branch: lightweight (one kernel per head) or dynamic "
                             "(kernels predicted per time step)")
    parser.add_argument(f"--{s}-kernel-size-list", nargs="+", type=kernel_size_token, metavar="K",
                        help=f"convolution kernel size of each {s} layer, e.g. 3 7 15 31 31 31 or "
                             "[3,7,15,31,31,31]; one value applies to all layers")
    parser.add_argument(f"--{s}-glu", type=bool_option, nargs="?", const=True, metavar="BOOL",
                        help=f"GLU after the input projection of the {s} convolution branch")


@dataclass(frozen=True)
class SideLayout:
    """The layers of one side (encoder or decoder), resolved from the options: one config per layer."""

    layers: Tuple[LayerConfig, ...]


def resolve_side_layout(args, side: str) -> SideLayout:
    """Turn the options of one side into one :class:`~lite_fairseq.modules.LayerConfig` per layer; raise
    BranchSpecError with the option's name where they do not fit (before any weight is built)."""
    embed_dim = getattr(args, f"{side}_embed_dim")
    num_layers = getattr(args, f"{side}_layers")
    if num_layers < 1:
        raise BranchSpecError(f"--{side}-layers: need at least one layer, got {num_layers}")
    explicit = getattr(args, f"{side}_branch_type", None)
    per_layer = getattr(args, f"{side}_layer_branches", None)
    if explicit and per_layer:
        raise BranchSpecError(f"--{side}-layer-branches and --{side}-branch-type both set the {side} branches; "
                              "give only one of them")
    if per_layer:
        option = f"--{side}-layer-branches"
        layer_specs = parse_layer_branches(per_layer, num_layers, option)
        for i, specs in enumerate(layer_specs):
            check_branch_widths_option(specs, embed_dim, f"{option} (layer {i})")
    elif explicit:
        option = f"--{side}-branch-type"
        specs = parse_branch_specs(explicit, option)
        check_branch_widths_option(specs, embed_dim, option)
        layer_specs = [specs] * num_layers
    else:
        specs = default_branch_specs(
            embed_dim, getattr(args, f"{side}_attn_branch_dim", None),
            getattr(args, f"{side}_attn_branch_heads"), getattr(args, f"{side}_conv_type"),
            getattr(args, f"{side}_conv_branch_heads"), prefix=f"--{side}")
        layer_specs = [specs] * num_layers
    kernel_sizes = parse_kernel_size_list(getattr(args, f"{side}_kernel_size_list"), num_layers,
                                          f"--{side}-kernel-size-list")
    ffn_list = getattr(args, f"{side}_ffn_embed_dim_list", None)
    ffn_dims = (parse_int_list(ffn_list, num_layers, f"--{side}-ffn-embed-dim-list") if ffn_list
                else [getattr(args, f"{side}_ffn_embed_dim")] * num_layers)
    return SideLayout(tuple(
        LayerConfig(
            embed_dim=embed_dim, ffn_dim=ffn_dim, branch_specs=tuple(specs),
            kernel_size=kernel_size, causal=side == "decoder", glu=getattr(args, f"{side}_glu"),
            normalize_before=getattr(args, f"{side}_normalize_before"), dropout=args.dropout,
            attention_dropout=args.attention_dropout, activation_dropout=args.activation_dropout,
            weight_dropout=args.weight_dropout, weight_softmax=args.weight_softmax, activation_fn=args.activation_fn,
            conv_backend=args.conv_backend, conv_mask_before_linear=getattr(args, "conv_mask_before_linear", False))
        for specs, kernel_size, ffn_dim in zip(layer_specs, kernel_sizes, ffn_dims)))


@dataclass(frozen=True)
class EncoderDecoderAttention:
    """Per decoder layer: heads of its encoder-decoder attention, and how many of the last encoder layers it reads
    (1: the encoder's output)."""

    heads: Tuple[int, ...]
    layers: Tuple[int, ...]

    @property
    def extra_encoder_layers(self) -> int:
        """How many encoder layer outputs besides the last one the encoder has to return."""
        return max(self.layers) - 1


def resolve_encoder_decoder_attention(args) -> EncoderDecoderAttention:
    """``--decoder-attention-heads(-list)`` and ``--decoder-ende-attn-layers``, checked by name."""
    num_layers, embed_dim = args.decoder_layers, args.decoder_embed_dim
    heads_list = getattr(args, "decoder_attention_heads_list", None)
    if heads_list:
        option = "--decoder-attention-heads-list"
        heads = parse_int_list(heads_list, num_layers, option)
    else:
        option = "--decoder-attention-heads"
        heads = [args.decoder_attention_heads] * num_layers
    for i, h in enumerate(heads):
        if h < 1 or embed_dim % h != 0:
            raise BranchSpecError(f"{option}: {h} heads do not divide --decoder-embed-dim {embed_dim} (decoder "
                                  f"layer {i})")
    ende = getattr(args, "decoder_ende_attn_layers", None)
    layers = parse_int_list(ende, num_layers, "--decoder-ende-attn-layers") if ende else [1] * num_layers
    for i, n in enumerate(layers):
        if not 1 <= n <= args.encoder_layers:
            raise BranchSpecError(f"--decoder-ende-attn-layers: decoder layer {i} reads {n} encoder layers, but "
                                  f"the encoder has {args.encoder_layers} (--encoder-layers); give 1 to "
                                  f"{args.encoder_layers}")
    return EncoderDecoderAttention(tuple(heads), tuple(layers))
