"""HAT's weight sharing over LSRA: the weights of one SubTransformer, cut from the SuperTransformer's.

A SubTransformer takes the leading slices of every weight: embeddings and output projection ``[:, :d]``, layer
norms ``[:d]``, FFN ``fc1[:f, :d]``/``fc2[:d, :f]``, the encoder-decoder attention ``[:d_dec, :d_enc]``, and the
first ``N`` layers of each side. Each SuperTransformer layer holds a full-width attention branch and a full-width
convolution branch; a layer with ``a`` attention channels (of ``d``) gives the first ``a`` channels to attention,
whose projections are ``[:a, :a]``, and the other ``c = d - a`` to convolution, whose projections are ``[:c, :c]``
(the GLU's input projection: rows ``[:c]`` and ``[C:C + c]`` of its two halves, ``C`` the super width). Heads take
the leading heads of the convolution's kernels. A kernel of ``k`` taps takes the ``k`` taps of the super kernel
(``K`` taps) at the same positions relative to the current token: the last ``k`` in the decoder (causal), the centred
ones in the encoder.

:func:`sub_state_dict` maps the super weights (a state dict, or the super model's live parameters, so gradients
reach them) to the parameter names of a plain ``lite_transformer`` built from :func:`.space.lite_transformer_args`.
"""

from typing import Dict, Mapping

import torch
from torch import Tensor

from lite_fairseq.modules import conv_padding

from .space import SearchSpace, SubConfig


def tap_offset(super_kernel: int, kernel: int, causal: bool) -> int:
    """Index of the super kernel's tap that is the sub kernel's first one (same relative positions)."""
    if kernel > super_kernel:
        raise ValueError(f"kernel size {kernel} is larger than the SuperTransformer's {super_kernel}")
    return conv_padding(super_kernel, causal) - conv_padding(kernel, causal)


def _linear(out: Dict[str, Tensor], sup: Mapping[str, Tensor], src: str, dst: str, rows: int, cols: int,
            bias: bool = True) -> None:
    out[f"{dst}.weight"] = sup[f"{src}.weight"][:rows, :cols]
    if bias:
        out[f"{dst}.bias"] = sup[f"{src}.bias"][:rows]


def _norm(out, sup, src: str, dst: str, dim: int) -> None:
    out[f"{dst}.weight"] = sup[f"{src}.weight"][:dim]
    out[f"{dst}.bias"] = sup[f"{src}.bias"][:dim]


def _attention(out, sup, src: str, dst: str, dim: int, kdim: int) -> None:
    _linear(out, sup, f"{src}.q_proj", f"{dst}.q_proj", dim, dim)
    _linear(out, sup, f"{src}.k_proj", f"{dst}.k_proj", dim, kdim)
    _linear(out, sup, f"{src}.v_proj", f"{dst}.v_proj", dim, kdim)
    _linear(out, sup, f"{src}.out_proj", f"{dst}.out_proj", dim, dim)


def _conv_branch(out, sup, src: str, dst: str, width: int, heads: int, kernel: int, causal: bool,
                 space: SearchSpace, super_kernel: int) -> None:
    w1, b1 = sup[f"{src}.linear1.weight"], sup[f"{src}.linear1.bias"]
    if space.glu:
        half = w1.size(0) // 2
        out[f"{dst}.linear1.weight"] = torch.cat([w1[:width, :width], w1[half:half + width, :width]])
        out[f"{dst}.linear1.bias"] = torch.cat([b1[:width], b1[half:half + width]])
    else:
        _linear(out, sup, f"{src}.linear1", f"{dst}.linear1", width, width)
    first = tap_offset(super_kernel, kernel, causal)
    if space.conv_type == "lightweight":
        out[f"{dst}.conv.weight"] = sup[f"{src}.conv.weight"][:heads, first:first + kernel]
    else:
        predictor = sup[f"{src}.conv.weight_linear.weight"]  # (H*K) x C, row h*K + tap
        rows = (torch.arange(heads, device=predictor.device).unsqueeze(1) * super_kernel
                + torch.arange(first, first + kernel, device=predictor.device)).reshape(-1)
        out[f"{dst}.conv.weight_linear.weight"] = predictor.index_select(0, rows)[:, :width]
    _linear(out, sup, f"{src}.linear2", f"{dst}.linear2", width, width)


def super_kernel_size(space: SearchSpace, side: str) -> int:
    return max(getattr(space, f"{side}_kernel_sizes"))


def layer_state(out, sup, side: str, i: int, sub: SubConfig, space: SearchSpace) -> None:
    """The plain layer ``{side}.layers.{i}``'s weights."""
    d = getattr(sub, f"{side}_embed_dim")
    a = getattr(sub, f"{side}_attn_dims")[i]
    src = dst = f"{side}.layers.{i}"
    branch = 0
    if a:
        _attention(out, sup, f"{src}.attn", f"{dst}.self_attn.branches.{branch}", a, a)
        branch += 1
    if d - a:
        _conv_branch(out, sup, f"{src}.conv", f"{dst}.self_attn.branches.{branch}", d - a,
                     getattr(sub, f"{side}_conv_heads")[i], getattr(sub, f"{side}_kernel_sizes")[i],
                     side == "decoder", space, super_kernel_size(space, side))
    ffn = getattr(sub, f"{side}_ffn_dims")[i]
    _linear(out, sup, f"{src}.ffn.fc1", f"{dst}.ffn.fc1", ffn, d)
    _linear(out, sup, f"{src}.ffn.fc2", f"{dst}.ffn.fc2", d, ffn)
    norms = ["self_attn_residual", "ffn_residual"] + (["encoder_attn_residual"] if side == "decoder" else [])
    for norm in norms:
        _norm(out, sup, f"{src}.{norm}.layer_norm", f"{dst}.{norm}.layer_norm", d)
    if side == "decoder":
        _attention(out, sup, f"{src}.encoder_attn", f"{dst}.encoder_attn", d, sub.encoder_embed_dim)


def sub_state_dict(sup: Mapping[str, Tensor], sub: SubConfig, space: SearchSpace, sides=("encoder", "decoder")
                   ) -> Dict[str, Tensor]:
    """The parameters of ``sub`` as a plain ``lite_transformer`` (names as its state dict; buffers left out),
    sliced from the SuperTransformer's parameters ``sup`` (views: gradients reach the super weights)."""
    out: Dict[str, Tensor] = {}
    for side in sides:
        d = getattr(sub, f"{side}_embed_dim")
        out[f"{side}.embed_tokens.weight"] = sup[f"{side}.embed_tokens.weight"][:, :d]
        for i in range(getattr(sub, f"{side}_layers")):
            layer_state(out, sup, side, i, sub, space)
        if f"{side}.layer_norm.weight" in sup:
            _norm(out, sup, f"{side}.layer_norm", f"{side}.layer_norm", d)
        if side == "decoder":
            if space.share_decoder_input_output_embed:
                out["decoder.output_projection.weight"] = out["decoder.embed_tokens.weight"]
            else:
                out["decoder.output_projection.weight"] = sup["decoder.output_projection.weight"][:, :d]
    return out


__all__ = ["sub_state_dict", "tap_offset", "layer_state", "super_kernel_size"]
