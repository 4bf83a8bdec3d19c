"""Inference fast paths of one decoding step through fairseq's MultiheadAttention: the LSRA attention branch
(self-attention) and the decoder layers' encoder-decoder attention.

fairseq's :class:`~fairseq.modules.MultiheadAttention` spends most of a single decoding step on small operations
(three separate projections of the new token, views, transposes, checks, the key-padding bookkeeping). At inference
(``not module.training``) a step of one new token without masks is computed here instead: one GEMM for q, k and v
(weights concatenated once from the existing ``q_proj``/``k_proj``/``v_proj`` and cached until a weight changes, so
state-dict names stay as they are), the new key and value appended to the same incremental state fairseq keeps
(``prev_key``/``prev_value``: ``B x H x T x D``), the attention (:func:`attend`) and the output projection.
Beam reordering stays :meth:`MultiheadAttention.reorder_incremental_state`, which reads the same state; any step
this path does not cover (training, masks, attention weights asked for, quantised projections) runs fairseq's code
on that same state.

The encoder-decoder attention's step (:func:`encoder_attention_step`) reads the keys and values fairseq cached at
the sentence's first step (``prev_key``: ``B' x H x S x D``, with ``B'`` the sentences when the generator set a beam
size, every hypothesis of a sentence sharing them, as fairseq does) and computes one query per hypothesis against
them: a query projection, one product with the keys, the padding mask, a softmax, one product with the values and
the output projection, and the head-averaged weights when asked for.

The helpers :func:`linear_rows`, :func:`layer_norm_rows` and :func:`eval_dropout` serve the whole-layer step of
:meth:`lite_fairseq.modules.LiteDecoderLayer.decode_step` (``LAYER_STEP``), which calls the two steps above.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.modules import MultiheadAttention
from torch import Tensor

from lite_fairseq.kernels import few_rows_linear

ENABLED = True  # False: every step through fairseq's code (benchmarks/decoding_fast_path_ab.py measures both)
LAYER_STEP = True  # False: keep the attention fast paths but run each decoder layer's step module by module
STATE_KEY = "attn_state"  # the key fairseq's MultiheadAttention keeps its incremental state under


def weights_key(*params: Tensor) -> Tuple:
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
        key = weights_key(*params)
        if key != self.key:
            with torch.no_grad():
                self.weight = torch.cat([p.weight for p in projections]).detach()
                self.bias = torch.cat([p.bias for p in projections]).detach()
            self.key = key
        return self.weight, self.bias


def linear_rows(linear: nn.Module, x: Tensor) -> Tensor:
    """``linear`` over the rows of a 2-D ``x``: a plain ``nn.Linear`` as one product without a module call (with few
    rows at inference through :func:`lite_fairseq.kernels.few_rows_linear`'s faster weight layouts); any other
    module (an int8 one), a module with forward hooks (they still run), or any module with the fast paths off
    (``ENABLED``: the profiler counts the modules' own calls), through its own forward."""
    if ENABLED and type(linear) is nn.Linear and not (linear._forward_hooks or linear._forward_pre_hooks):
        return few_rows_linear(x, linear.weight, linear.bias)
    return linear(x)


def layer_norm_rows(norm: nn.Module, x: Tensor) -> Tensor:
    """``norm(x)`` without the module call for torch's own ``LayerNorm`` (what fairseq builds on a CPU)."""
    if type(norm) is nn.LayerNorm:
        return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
    return norm(x)


def eval_dropout(dropout: nn.Module, x: Tensor) -> Tensor:
    """A ``FairseqDropout`` that is a no-op (eval mode, not applied at inference, or p = 0) issues no call."""
    if dropout.p > 0 and (dropout.training or getattr(dropout, "apply_during_inference", False)):
        return dropout(x)
    return x


def _plain_linear(p) -> bool:
    """A float ``nn.Linear`` with a bias: not an int8 one (torch.ao's module or torchao's tensor subclass)."""
    return type(p) is nn.Linear and p.bias is not None and type(p.weight.data) is torch.Tensor


def can_fuse(mha: MultiheadAttention) -> bool:
    """Plain float linear projections with biases over the same width (what LSRA builds), not quantised ones."""
    projections = (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj)
    return (mha.self_attention and not mha.add_zero_attn and mha.bias_k is None
            and all(_plain_linear(p) for p in projections)
            and mha.kdim == mha.embed_dim == mha.vdim)


SDPA_MAX_HEADS = 48  # on a CPU, fused attention for at most this many (batch, head) pairs; see attend()


def attend(q: Tensor, k: Tensor, v: Tensor, scale: float, padding: Optional[Tensor] = None) -> Tensor:
    """Attention of a decoding step's few queries (``N x H x Q x D``) over ``N x H x S x D`` keys and values;
    ``padding``: True at masked keys (broadcast to ``N x H x Q x S``). On a CPU, torch's fused attention kernel pays a
    per-(batch, head) cost that exceeds the work for one query: it is used for batch-1 decoding (at most
    ``SDPA_MAX_HEADS`` pairs), and two batched products with a softmax between them (what fairseq computes) for
    batches of hypotheses (measured in benchmarks/RESULTS.md, "CPU efficiency (issue 13)"). Other devices: fused."""
    if q.device.type != "cpu" or q.size(0) * q.size(1) <= SDPA_MAX_HEADS:
        keep = None if padding is None else ~padding
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=scale)
    scores = torch.matmul(q * scale, k.transpose(2, 3))
    if padding is not None:
        scores = scores.masked_fill(padding, float("-inf"))
    return torch.matmul(torch.softmax(scores.float(), dim=-1).type_as(v), v)


def self_attention_step(mha: MultiheadAttention, fused: FusedQKV, x: Tensor, incremental_state) -> Tensor:
    """One new token ``x`` (``1 x B x C``, any strides) through self-attention over the cached keys and values;
    returns ``1 x B x C``. The caller checks that the fast path applies (:func:`can_fuse`, eval mode, no masks)."""
    return self_attention_rows(mha, fused, x[0], incremental_state).unsqueeze(0)


def self_attention_rows(mha: MultiheadAttention, fused: FusedQKV, x: Tensor, incremental_state) -> Tensor:
    """:func:`self_attention_step` on the new token's rows: ``x`` is ``B x C`` (any strides), returns ``B x C``."""
    B, C = x.shape
    H = mha.num_heads
    D = C // H
    weight, bias = fused.get(mha)
    qkv = few_rows_linear(x, weight, bias).view(B, 3, H, 1, D)
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
    out = attend(q, k, v, mha.scaling)  # B x H x 1 x D
    return few_rows_linear(out.view(B, C), mha.out_proj.weight, mha.out_proj.bias)


def use_fast_step(mha: MultiheadAttention, x: Tensor, incremental_state, key_padding_mask, attn_mask,
                  need_weights: bool) -> bool:
    """Whether this call is one the fast path computes exactly as fairseq does."""
    if not ENABLED or incremental_state is None or mha.training or need_weights or x.size(0) != 1:
        return False
    if key_padding_mask is not None or attn_mask is not None:
        return False
    state = mha.get_incremental_state(incremental_state, STATE_KEY)
    if state is not None and state.get("prev_key_padding_mask") is not None:
        return False
    return can_fuse(mha)


def use_encoder_step(mha: MultiheadAttention, x: Tensor, incremental_state, static_kv: bool,
                     need_head_weights: bool = False) -> bool:
    """Whether the encoder-decoder attention step can be the fast one: a later step (keys cached) of one token."""
    if not ENABLED or incremental_state is None or not static_kv or mha.training or x.size(0) != 1:
        return False
    if need_head_weights:
        return False
    if not mha.encoder_decoder_attention or mha.add_zero_attn or mha.bias_k is not None:
        return False
    if not all(_plain_linear(p) for p in (mha.q_proj, mha.out_proj)):
        return False
    state = mha.get_incremental_state(incremental_state, STATE_KEY)
    return state is not None and state.get("prev_key") is not None and state.get("prev_value") is not None


def encoder_attention_step(mha: MultiheadAttention, x: Tensor, incremental_state, need_weights: bool
                           ) -> Tuple[Tensor, Optional[Tensor]]:
    """``x``: ``1 x B x C`` (B hypotheses). Returns ``1 x B x C`` and, if ``need_weights``, the weights averaged
    over heads (``B x 1 x S``, float32), as fairseq's MultiheadAttention returns them."""
    _, B, C = x.shape
    H = mha.num_heads
    D = C // H
    state = mha.get_incremental_state(incremental_state, STATE_KEY)
    k, v = state["prev_key"], state["prev_value"]  # B' x H x S x D
    kv_bsz, S = k.size(0), k.size(2)
    beam = B // kv_bsz
    q = few_rows_linear(x[0], mha.q_proj.weight, mha.q_proj.bias)
    q = q.view(kv_bsz, beam, H, D).transpose(1, 2)  # B' x H x beam x D: a sentence's hypotheses as its queries
    mask = state.get("prev_key_padding_mask")  # B' x S, True at padding
    weights = None
    if need_weights:
        scores = torch.matmul(q * mha.scaling, k.transpose(2, 3))  # B' x H x beam x S
        if mask is not None:
            scores = scores.masked_fill(mask.view(kv_bsz, 1, 1, S).to(torch.bool), float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1)
        out = torch.matmul(probs.type_as(v), v)
        weights = probs.mean(dim=1).reshape(B, 1, S)
    else:
        out = attend(q, k, v, mha.scaling, None if mask is None else mask.view(kv_bsz, 1, 1, S).to(torch.bool))
    out = out.transpose(1, 2).reshape(B, C)
    out = few_rows_linear(out, mha.out_proj.weight, mha.out_proj.bias)
    return out.unsqueeze(0), weights
