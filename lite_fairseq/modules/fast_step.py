"""Inference fast path of one decoding step through the LSRA attention branch (fairseq's MultiheadAttention).

fairseq's :class:`~fairseq.modules.MultiheadAttention` spends most of a single decoding step on small operations
(three separate projections of the new token, views, transposes, checks, the key-padding bookkeeping). At inference
(``not module.training``) a step of one new token without masks is computed here instead: one GEMM for q, k and v
(weights concatenated once from the existing ``q_proj``/``k_proj``/``v_proj`` and cached until a weight changes, so
state-dict names stay as they are), the new key and value appended to the same incremental state fairseq keeps
(``prev_key``/``prev_value``: ``B x H x T x D``), one ``scaled_dot_product_attention`` and the output projection.
Beam reordering stays :meth:`MultiheadAttention.reorder_incremental_state`, which reads the same state; any step
this path does not cover (training, masks, attention weights asked for, quantised projections) runs fairseq's code
on that same state.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.modules import MultiheadAttention
from torch import Tensor

STATE_KEY = "attn_state"  # the key fairseq's MultiheadAttention keeps its incremental state under


def _weights_key(*params: Tensor) -> Tuple:
    """Identifies the weights' current values: a new tensor, new storage or an in-place update changes it."""
    return tuple((id(p), p.data_ptr(), p._version) for p in params)


class FusedQKV:
    """``q_proj``/``k_proj``/``v_proj`` of one attention module as one ``3C x C`` weight and ``3C`` bias, rebuilt
    whenever one of them changes (loading a checkpoint, an optimizer step, a dtype or device move)."""

    def __init__(self):
        self.key: Optional[Tuple] = None
        self.weight: Optional[Tensor] = None
        self.bias: Optional[Tensor] = None

    def get(self, mha: MultiheadAttention) -> Tuple[Tensor, Tensor]:
        projections = (mha.q_proj, mha.k_proj, mha.v_proj)
        params = [t for p in projections for t in (p.weight, p.bias)]
        key = _weights_key(*params)
        if key != self.key:
            with torch.no_grad():
                self.weight = torch.cat([p.weight for p in projections]).detach()
                self.bias = torch.cat([p.bias for p in projections]).detach()
            self.key = key
        return self.weight, self.bias


def can_fuse(mha: MultiheadAttention) -> bool:
    """Plain float linear projections with biases over the same width (what LSRA builds)."""
    projections = (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj)
    return (mha.self_attention and not mha.add_zero_attn and mha.bias_k is None
            and all(type(p) is nn.Linear and p.bias is not None for p in projections)
            and mha.kdim == mha.embed_dim == mha.vdim)


def self_attention_step(mha: MultiheadAttention, fused: FusedQKV, x: Tensor, incremental_state) -> Tensor:
    """One new token ``x`` (``1 x B x C``, any strides) through self-attention over the cached keys and values;
    returns ``1 x B x C``. The caller checks that the fast path applies (:func:`can_fuse`, eval mode, no masks)."""
    _, B, C = x.shape
    H = mha.num_heads
    D = C // H
    weight, bias = fused.get(mha)
    qkv = torch.addmm(bias, x[0], weight.t()).view(B, 3, H, 1, D)
    q, k, v = qkv.unbind(1)  # each B x H x 1 x D
    state = mha.get_incremental_state(incremental_state, STATE_KEY) or {}
    prev_key, prev_value = state.get("prev_key"), state.get("prev_value")
    if prev_key is not None and prev_value is not None:
        k = torch.cat([prev_key.view(B, H, -1, D), k], dim=2)
        v = torch.cat([prev_value.view(B, H, -1, D), v], dim=2)
    else:
        k, v = k.contiguous(), v.contiguous()
    state["prev_key"], state["prev_value"] = k, v
    state["prev_key_padding_mask"] = None
    mha.set_incremental_state(incremental_state, STATE_KEY, state)
    out = F.scaled_dot_product_attention(q, k, v, scale=mha.scaling)  # B x H x 1 x D
    out = F.linear(out.view(B, C), mha.out_proj.weight, mha.out_proj.bias)
    return out.unsqueeze(0)


def use_fast_step(mha: MultiheadAttention, x: Tensor, incremental_state, key_padding_mask, attn_mask,
                  need_weights: bool) -> bool:
    """Whether this call is one the fast path computes exactly as fairseq does."""
    if incremental_state is None or mha.training or need_weights or x.size(0) != 1:
        return False
    if key_padding_mask is not None or attn_mask is not None:
        return False
    state = mha.get_incremental_state(incremental_state, STATE_KEY)
    if state is not None and state.get("prev_key_padding_mask") is not None:
        return False
    return can_fuse(mha)
