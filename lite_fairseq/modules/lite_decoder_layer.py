"""Decoder layer: LSRA (causal convolutions) -> full-width encoder-decoder attention -> flattened FFN."""

from typing import Optional, Sequence

import torch.nn as nn
from fairseq.modules import MultiheadAttention
from torch import Tensor

from .branch_spec import BranchSpec
from .feed_forward import FeedForward
from .long_short_range_attention import LongShortRangeAttention
from .residual_block import ResidualNorm


class LiteDecoderLayer(nn.Module):
    def __init__(self, embed_dim: int, ffn_dim: int, branch_specs: Sequence[BranchSpec], kernel_size: int,
                 glu: bool, normalize_before: bool, dropout: float, attention_dropout: float,
                 activation_dropout: float, weight_dropout: float, encoder_attention_heads: int,
                 encoder_embed_dim: Optional[int], no_encoder_attn: bool = False, weight_softmax: bool = True,
                 activation_fn: str = "relu", conv_backend: str = "auto",
                 conv_mask_before_linear: bool = False):
        super().__init__()
        self.self_attn = LongShortRangeAttention(
            embed_dim, branch_specs, kernel_size, causal=True, glu=glu, attention_dropout=attention_dropout,
            weight_dropout=weight_dropout, weight_softmax=weight_softmax, conv_backend=conv_backend,
            conv_mask_before_linear=conv_mask_before_linear,
            option="--decoder-branch-type")
        self.self_attn_residual = ResidualNorm(embed_dim, normalize_before, dropout)
        if no_encoder_attn:
            self.encoder_attn = None
            self.encoder_attn_residual = None
        else:
            self.encoder_attn = MultiheadAttention(
                embed_dim, encoder_attention_heads, kdim=encoder_embed_dim, vdim=encoder_embed_dim,
                dropout=attention_dropout, encoder_decoder_attention=True)
            self.encoder_attn_residual = ResidualNorm(embed_dim, normalize_before, dropout)
        self.ffn = FeedForward(embed_dim, ffn_dim, activation_fn, activation_dropout)
        self.ffn_residual = ResidualNorm(embed_dim, normalize_before, dropout)
        self.need_attn = True

    def forward(self, x: Tensor, encoder_out: Optional[Tensor] = None,
                encoder_padding_mask: Optional[Tensor] = None, incremental_state=None,
                self_attn_mask: Optional[Tensor] = None, self_attn_padding_mask: Optional[Tensor] = None,
                need_attn: bool = False):
        """x: T x B x C. Returns (x, encoder-decoder attention weights averaged over heads, or None)."""
        residual = x
        x, _ = self.self_attn(self.self_attn_residual.before(x), key_padding_mask=self_attn_padding_mask,
                              incremental_state=incremental_state, attn_mask=self_attn_mask)
        x = self.self_attn_residual.after(residual, x)
        attn = None
        if self.encoder_attn is not None and encoder_out is not None:
            residual = x
            x, attn = self.encoder_attn(
                query=self.encoder_attn_residual.before(x), key=encoder_out, value=encoder_out,
                key_padding_mask=encoder_padding_mask, incremental_state=incremental_state, static_kv=True,
                need_weights=need_attn or (not self.training and self.need_attn))
            x = self.encoder_attn_residual.after(residual, x)
        residual = x
        x = self.ffn(self.ffn_residual.before(x))
        return self.ffn_residual.after(residual, x), attn

    def make_generation_fast_(self, need_attn: bool = False, **kwargs):
        self.need_attn = need_attn
