"""Encoder layer: LSRA (centred convolutions) -> flattened FFN, each with residual and layer norm."""

from typing import Optional, Sequence

import torch.nn as nn
from torch import Tensor

from .branch_spec import BranchSpec
from .feed_forward import FeedForward
from .long_short_range_attention import LongShortRangeAttention
from .residual_block import ResidualNorm


class LiteEncoderLayer(nn.Module):
    def __init__(self, embed_dim: int, ffn_dim: int, branch_specs: Sequence[BranchSpec], kernel_size: int,
                 glu: bool, normalize_before: bool, dropout: float, attention_dropout: float,
                 activation_dropout: float, weight_dropout: float, weight_softmax: bool = True,
                 activation_fn: str = "relu", conv_backend: str = "auto",
                 conv_mask_before_linear: bool = False):
        super().__init__()
        self.self_attn = LongShortRangeAttention(
            embed_dim, branch_specs, kernel_size, causal=False, glu=glu, attention_dropout=attention_dropout,
            weight_dropout=weight_dropout, weight_softmax=weight_softmax, conv_backend=conv_backend,
            conv_mask_before_linear=conv_mask_before_linear,
            option="--encoder-branch-type")
        self.self_attn_residual = ResidualNorm(embed_dim, normalize_before, dropout)
        self.ffn = FeedForward(embed_dim, ffn_dim, activation_fn, activation_dropout)
        self.ffn_residual = ResidualNorm(embed_dim, normalize_before, dropout)

    def forward(self, x: Tensor, encoder_padding_mask: Optional[Tensor]) -> Tensor:
        """x: T x B x C; encoder_padding_mask: B x T (True at padding) or None."""
        residual = x
        x, _ = self.self_attn(self.self_attn_residual.before(x), key_padding_mask=encoder_padding_mask)
        x = self.self_attn_residual.after(residual, x)
        residual = x
        x = self.ffn(self.ffn_residual.before(x))
        return self.ffn_residual.after(residual, x)
