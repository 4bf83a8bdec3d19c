"""Parsing of the LSRA branch options: ``--{encoder,decoder}-branch-type`` entries in the authors' format
(``type:kernel:dim:heads``), the paper's default layout from ``--*-attn-branch-*``/``--*-conv-*``, and
``--*-kernel-size-list``. Every error names the option, so a user knows which one to fix.

* ``attn:1:248:4`` -- multi-head self-attention over 248 channels with 4 heads (the kernel field is ignored),
* ``dynamic:default:248:4`` -- dynamic convolution over 248 channels, 4 heads, kernel size from the layer's entry
  of the kernel size list,
* ``lightweight:7:80:4`` -- lightweight convolution with a fixed kernel size of 7.
"""

from typing import List, Optional, Sequence

from lite_fairseq.modules.config import ATTENTION, BRANCH_TYPES, CONV_TYPES, BranchSpec, check_branch_widths


class BranchSpecError(ValueError):
    """A branch specification or a layer option that does not fit; the message names the option."""


def split_list_argument(values) -> List[str]:
    """Accept ``a b c``, ``a,b,c`` and ``[a, b, c]`` (one or several command-line words)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    items: List[str] = []
    for value in values:
        for piece in str(value).replace("[", " ").replace("]", " ").replace(",", " ").split():
            piece = piece.strip().strip("'\"")
            if piece:
                items.append(piece)
    return items


def parse_branch_spec(text: str, option: str = "--encoder-branch-type") -> BranchSpec:
    """Parse one ``type:kernel:dim:heads`` entry."""
    raw = str(text).strip().strip("[]").strip().strip(",").strip().strip("'\"")
    parts = raw.split(":")
    usage = (
        f"{option}: cannot parse {text!r}; expected type:kernel:dim:heads with type one of "
        f"{', '.join(BRANCH_TYPES)}, e.g. attn:1:248:4 dynamic:default:248:4"
    )
    if len(parts) != 4:
        raise BranchSpecError(usage)
    kind, kernel, dim, heads = (p.strip() for p in parts)
    if kind not in BRANCH_TYPES:
        raise BranchSpecError(f"{option}: unknown branch type {kind!r} in {text!r}; choose one of "
                              f"{', '.join(BRANCH_TYPES)}")
    try:
        dim_i, heads_i = int(dim), int(heads)
    except ValueError:
        raise BranchSpecError(usage) from None
    if dim_i <= 0 or heads_i <= 0:
        raise BranchSpecError(f"{option}: width and heads must be positive in {text!r}")
    if dim_i % heads_i != 0:
        raise BranchSpecError(f"{option}: {heads_i} heads do not divide the branch width {dim_i} in {text!r}")
    kernel_size: Optional[int] = None
    if kind != ATTENTION and kernel != "default":
        try:
            kernel_size = int(kernel)
        except ValueError:
            raise BranchSpecError(f"{option}: kernel field must be 'default' or an integer in {text!r}") from None
        if kernel_size < 1:
            raise BranchSpecError(f"{option}: kernel size must be at least 1 in {text!r}")
    return BranchSpec(kind=kind, dim=dim_i, heads=heads_i, kernel_size=kernel_size)


def parse_branch_specs(values, option: str) -> List[BranchSpec]:
    specs = [parse_branch_spec(item, option) for item in split_list_argument(values)]
    if not specs:
        raise BranchSpecError(f"{option}: at least one branch is needed")
    return specs


def check_branch_widths_option(specs: Sequence[BranchSpec], embed_dim: int, option: str) -> None:
    """The layers' width check, with the option's name in front of the message."""
    try:
        check_branch_widths(specs, embed_dim)
    except ValueError as err:
        raise BranchSpecError(f"{option}: {err}") from None


def default_branch_specs(embed_dim: int, attn_dim: Optional[int], attn_heads: int, conv_type: str,
                         conv_heads: int, prefix: str = "--encoder") -> List[BranchSpec]:
    """The paper's layout: ``attn_dim`` channels (half by default) to attention, the rest to convolution."""
    if conv_type not in CONV_TYPES:
        raise BranchSpecError(f"{prefix}-conv-type: {conv_type!r} is not one of {', '.join(CONV_TYPES)}")
    if attn_dim is None:
        attn_dim = embed_dim // 2
    if not 0 <= attn_dim <= embed_dim:
        raise BranchSpecError(f"{prefix}-attn-branch-dim: {attn_dim} must lie between 0 and the embedding "
                              f"dimension {embed_dim}")
    specs = []
    if attn_dim > 0:
        specs.append(BranchSpec(ATTENTION, attn_dim, attn_heads))
    if embed_dim - attn_dim > 0:
        specs.append(BranchSpec(conv_type, embed_dim - attn_dim, conv_heads))
    for spec in specs:
        option = f"{prefix}-attn-branch-heads" if spec.is_attention else f"{prefix}-conv-branch-heads"
        if spec.heads <= 0 or spec.dim % spec.heads != 0:
            raise BranchSpecError(f"{option}: {spec.heads} heads do not divide the {spec.kind} branch width "
                                  f"{spec.dim} (embedding dimension {embed_dim})")
    return specs


def parse_int_list(values, num_layers: int, option: str, what: str = "values") -> List[int]:
    """One positive integer per layer (``what`` names them in messages); a single value is used for every layer."""
    items = split_list_argument(values)
    try:
        numbers = [int(v) for v in items]
    except ValueError:
        raise BranchSpecError(f"{option}: expected integers, got {values!r}") from None
    if not numbers:
        raise BranchSpecError(f"{option}: no {what} given")
    if any(n < 1 for n in numbers):
        raise BranchSpecError(f"{option}: {what} must be at least 1, got {numbers}")
    return per_layer(numbers, num_layers, option, f"{len(numbers)} {what} {numbers}")


def per_layer(items: list, num_layers: int, option: str, given: str) -> list:
    """One item per layer: a single item is repeated for every layer, any other count must equal ``num_layers``."""
    if len(items) == 1:
        return items * num_layers
    if len(items) != num_layers:
        raise BranchSpecError(f"{option}: {given} given for {num_layers} layers; give one per layer (or a single "
                              "one for all)")
    return items


def parse_kernel_size_list(values, num_layers: int, option: str) -> List[int]:
    """One kernel size per layer; a single value is used for every layer."""
    return parse_int_list(values, num_layers, option, what="kernel sizes")


def parse_layer_branches(values, num_layers: int, option: str) -> List[List[BranchSpec]]:
    """``--*-layer-branches``: one word per layer, the layer's branches joined by ``+``
    (``attn:1:64:2+dynamic:default:192:4``); a single word is used for every layer."""
    groups = split_list_argument(values)
    if not groups:
        raise BranchSpecError(f"{option}: no layers given; write one word per layer, e.g. "
                              "attn:1:64:2+dynamic:default:192:4")
    layers = []
    for i, group in enumerate(groups):
        pieces = [p for p in group.split("+")]
        if any(not p for p in pieces):
            raise BranchSpecError(f"{option}: empty branch in {group!r} (layer {i}); join a layer's branches with a "
                                  "single '+', e.g. attn:1:64:2+dynamic:default:192:4")
        layers.append([parse_branch_spec(p, f"{option} (layer {i})") for p in pieces])
    return per_layer(layers, num_layers, option, f"{len(layers)} layers' branches")
