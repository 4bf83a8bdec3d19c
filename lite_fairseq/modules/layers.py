"""Encoder and decoder layers of Lite Transformer, each built from one :class:`~.config.LayerConfig`.

Encoder layer: LSRA (centred convolutions) -> flattened FFN. Decoder layer: LSRA (causal convolutions) ->
full-width encoder-decoder attention (left out in the language model) -> flattened FFN. Every sublayer sits in a
:class:`ResidualNorm` (residual connection, dropout, pre- or post-norm). Read next: :mod:`.lsra` (LSRA and its
convolution branch).
"""

from typing import Optional

import torch.nn as nn
from fairseq import utils
from fairseq.modules import LayerNorm, MultiheadAttention
from torch import Tensor

from .config import LayerConfig
from . import fast_step
from .dropout import Dropout, use_plugin_dropout
from .fast_step import STATE_KEY, encoder_attention_step, eval_dropout, layer_norm_rows, linear_rows, use_encoder_step
from .lsra import ConvBranch, LongShortRangeAttention


class ResidualNorm(nn.Module):
    """``pre``: x + dropout(f(norm(x))); ``post``: norm(x + dropout(f(x))). Call :meth:`before` on the sublayer's
    input and :meth:`after` on its output."""

    def __init__(self, embed_dim: int, normalize_before: bool, dropout: float):
        super().__init__()
        self.layer_norm = LayerNorm(embed_dim)
        self.normalize_before = normalize_before
        self.dropout = Dropout(dropout, module_name=self.__class__.__name__)

    def before(self, x):
        return self.layer_norm(x) if self.normalize_before else x

    def after(self, residual, x):
        x = residual + self.dropout(x)
        return x if self.normalize_before else self.layer_norm(x)

    def before_rows(self, x):
        """:meth:`before` without module calls (a decoding step at inference, see LiteDecoderLayer.decode_step)."""
        return layer_norm_rows(self.layer_norm, x) if self.normalize_before else x

    def after_rows(self, residual, x):
        x = residual + eval_dropout(self.dropout, x)
        return x if self.normalize_before else layer_norm_rows(self.layer_norm, x)


class FeedForward(nn.Module):
    """Position-wise feed-forward block; Lite Transformer flattens it (hidden size = embedding dimension)."""

    def __init__(self, cfg: LayerConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.embed_dim, cfg.ffn_dim)
        self.fc2 = nn.Linear(cfg.ffn_dim, cfg.embed_dim)
        for fc in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(fc.weight)
            nn.init.constant_(fc.bias, 0.0)
        self.activation_fn = utils.get_activation_fn(cfg.activation_fn)
        self.activation_dropout = Dropout(cfg.activation_dropout, module_name=self.__class__.__name__)

    def forward(self, x):
        return self.fc2(self.activation_dropout(self.activation_fn(self.fc1(x))))

    def forward_rows(self, x):
        """:meth:`forward` on 2-D rows without module calls (a decoding step at inference)."""
        x = eval_dropout(self.activation_dropout, self.activation_fn(linear_rows(self.fc1, x)))
        return linear_rows(self.fc2, x)


class LiteEncoderLayer(nn.Module):
    def __init__(self, cfg: LayerConfig):
        super().__init__()
        if cfg.causal:
            raise ValueError("an encoder layer needs centred convolutions: build its LayerConfig with causal=False")
        self.self_attn = LongShortRangeAttention(cfg)
        self.self_attn_residual = ResidualNorm(cfg.embed_dim, cfg.normalize_before, cfg.dropout)
        self.ffn = FeedForward(cfg)
        self.ffn_residual = ResidualNorm(cfg.embed_dim, cfg.normalize_before, cfg.dropout)

    def forward(self, x: Tensor, encoder_padding_mask: Optional[Tensor]) -> Tensor:
        """x: T x B x C; encoder_padding_mask: B x T (True at padding) or None."""
        residual = x
        x, _ = self.self_attn(self.self_attn_residual.before(x), key_padding_mask=encoder_padding_mask)
        x = self.self_attn_residual.after(residual, x)
        residual = x
        x = self.ffn(self.ffn_residual.before(x))
        return self.ffn_residual.after(residual, x)


class LiteDecoderLayer(nn.Module):
    """``encoder_attention_heads``: heads of the encoder-decoder attention over ``encoder_embed_dim`` (default: the
    layer's width) encoder features; None for a layer without one (the language model)."""

    def __init__(self, cfg: LayerConfig, encoder_attention_heads: Optional[int] = None,
                 encoder_embed_dim: Optional[int] = None):
        super().__init__()
        if not cfg.causal:
            raise ValueError("a decoder layer needs causal convolutions: build its LayerConfig with causal=True")
        self.self_attn = LongShortRangeAttention(cfg)
        self.self_attn_residual = ResidualNorm(cfg.embed_dim, cfg.normalize_before, cfg.dropout)
        if encoder_attention_heads is None:
            self.encoder_attn = None
            self.encoder_attn_residual = None
        else:
            # fairseq's step-by-step path (static keys), so its own dropout_module drops the attention weights
            self.encoder_attn = use_plugin_dropout(MultiheadAttention(
                cfg.embed_dim, encoder_attention_heads, kdim=encoder_embed_dim, vdim=encoder_embed_dim,
                dropout=cfg.attention_dropout, encoder_decoder_attention=True))
            self.encoder_attn_residual = ResidualNorm(cfg.embed_dim, cfg.normalize_before, cfg.dropout)
        self.ffn = FeedForward(cfg)
        self.ffn_residual = ResidualNorm(cfg.embed_dim, cfg.normalize_before, cfg.dropout)
        self.need_attn = True

    def forward(self, x: Tensor, encoder_out: Optional[Tensor] = None,
                encoder_padding_mask: Optional[Tensor] = None, incremental_state=None,
                self_attn_mask: Optional[Tensor] = None, self_attn_padding_mask: Optional[Tensor] = None,
                need_attn: bool = False):
        """x: T x B x C. Returns (x, encoder-decoder attention weights averaged over heads, or None)."""
        need_weights = need_attn or (not self.training and self.need_attn)
        if self.can_decode_step(x, encoder_out, incremental_state, self_attn_mask, self_attn_padding_mask):
            return self.decode_step(x[0], encoder_out is not None, incremental_state, need_weights)
        residual = x
        x, _ = self.self_attn(self.self_attn_residual.before(x), key_padding_mask=self_attn_padding_mask,
                              incremental_state=incremental_state, attn_mask=self_attn_mask)
        x = self.self_attn_residual.after(residual, x)
        attn = None
        if self.encoder_attn is not None and encoder_out is not None:
            residual = x
            query = self.encoder_attn_residual.before(x)
            if use_encoder_step(self.encoder_attn, query, incremental_state, static_kv=True):
                x, attn = encoder_attention_step(self.encoder_attn, query, incremental_state, need_weights)
            else:
                x, attn = self.encoder_attn(
                    query=query, key=encoder_out, value=encoder_out, key_padding_mask=encoder_padding_mask,
                    incremental_state=incremental_state, static_kv=True, need_weights=need_weights)
            x = self.encoder_attn_residual.after(residual, x)
        residual = x
        x = self.ffn(self.ffn_residual.before(x))
        return self.ffn_residual.after(residual, x), attn

    def can_decode_step(self, x: Tensor, encoder_out, incremental_state, self_attn_mask, self_attn_padding_mask
                        ) -> bool:
        """Whether this call is one decoding step at inference that :meth:`decode_step` computes: one new token,
        an incremental state, no masks, and the encoder-decoder attention's keys already cached (the first step
        of a sentence computes them through fairseq's module)."""
        if not (fast_step.ENABLED and fast_step.LAYER_STEP) or incremental_state is None or self.training:
            return False
        if x.size(0) != 1 or self_attn_mask is not None or self_attn_padding_mask is not None:
            return False
        return (self.encoder_attn is None or encoder_out is None
                or use_encoder_step(self.encoder_attn, x, incremental_state, static_kv=True))

    def decode_step(self, x: Tensor, with_encoder: bool, incremental_state, need_weights: bool):
        """The layer's step on the new token's rows (``x``: ``B x C``) with 2-D products and no module call for
        layer norms, no-op dropouts and plain linear maps: the arithmetic of :meth:`forward`, on the same
        incremental state. Returns (``1 x B x C``, encoder-decoder attention weights or None)."""
        res = self.self_attn_residual
        x = res.after_rows(x, self.self_attn.decode_step(res.before_rows(x), incremental_state))
        attn = None
        if self.encoder_attn is not None and with_encoder:
            res = self.encoder_attn_residual
            out, attn = encoder_attention_step(self.encoder_attn, res.before_rows(x).unsqueeze(0),
                                               incremental_state, need_weights)
            x = res.after_rows(x, out[0])
        res = self.ffn_residual
        x = res.after_rows(x, self.ffn.forward_rows(res.before_rows(x)))
        return x.unsqueeze(0), attn

    def stateful_modules(self):
        """The modules of this layer that keep an incremental state (each has ``reorder_incremental_state``): the
        attention branches, the convolutions of the convolution branches, the encoder-decoder attention."""
        modules = [b.conv if isinstance(b, ConvBranch) else b for b in self.self_attn.branches]
        if self.encoder_attn is not None:
            modules.append(self.encoder_attn)
        return modules

    def has_cached_encoder_keys(self, incremental_state) -> bool:
        """Whether a decoding step has the encoder-decoder attention's keys and values cached already (they are
        computed once, at a sentence's first step; later steps need no encoder output)."""
        if incremental_state is None or self.encoder_attn is None:
            return False
        state = self.encoder_attn.get_incremental_state(incremental_state, STATE_KEY)
        return state is not None and state.get("prev_key") is not None

    def make_generation_fast_(self, need_attn: bool = False, **kwargs):
        self.need_attn = need_attn
