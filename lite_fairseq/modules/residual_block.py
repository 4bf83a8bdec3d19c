"""Residual connection with layer norm before (pre-norm) or after (post-norm) the sublayer."""

import torch.nn as nn
from fairseq.modules import LayerNorm
from fairseq.modules.fairseq_dropout import FairseqDropout


class ResidualNorm(nn.Module):
    """``pre``: x + dropout(f(norm(x))); ``post``: norm(x + dropout(f(x))). Call :meth:`before` on the sublayer's
    input and :meth:`after` on its output."""

    def __init__(self, embed_dim: int, normalize_before: bool, dropout: float):
        super().__init__()
        self.layer_norm = LayerNorm(embed_dim)
        self.normalize_before = normalize_before
        self.dropout = FairseqDropout(dropout, module_name=self.__class__.__name__)

    def before(self, x):
        return self.layer_norm(x) if self.normalize_before else x

    def after(self, residual, x):
        x = residual + self.dropout(x)
        return x if self.normalize_before else self.layer_norm(x)
