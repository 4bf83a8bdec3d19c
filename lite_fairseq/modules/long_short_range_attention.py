"""LSRA: the layer's channels are split between attention branches (long range) and convolution branches
(short range), each branch sees only its slice, and the outputs are concatenated back to full width."""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from fairseq.modules import MultiheadAttention
from torch import Tensor

from .branch_spec import BranchSpec, check_branch_widths
from .conv_branch import ConvBranch


class LongShortRangeAttention(nn.Module):
    def __init__(self, embed_dim: int, branch_specs: Sequence[BranchSpec], kernel_size: int, causal: bool,
                 glu: bool, attention_dropout: float = 0.0, weight_dropout: float = 0.0,
                 weight_softmax: bool = True, conv_backend: str = "auto", option: str = "--encoder-branch-type",
                 conv_mask_before_linear: bool = False):
        super().__init__()
        check_branch_widths(branch_specs, embed_dim, option)
        self.embed_dim = embed_dim
        self.specs: List[BranchSpec] = list(branch_specs)
        self.branches = nn.ModuleList()
        for spec in self.specs:
            if spec.is_attention:
                branch = MultiheadAttention(spec.dim, spec.heads, dropout=attention_dropout, self_attention=True)
            else:
                branch = ConvBranch(spec.dim, spec.kernel_size or kernel_size, spec.heads, spec.kind, causal, glu,
                                    weight_softmax=weight_softmax, weight_dropout=weight_dropout,
                                    backend=conv_backend, mask_before_linear=conv_mask_before_linear)
            self.branches.append(branch)

    def forward(self, x: Tensor, key_padding_mask: Optional[Tensor] = None, incremental_state=None,
                attn_mask: Optional[Tensor] = None, need_weights: bool = False
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """x: T x B x C. Returns the output (T x B x C) and the first attention branch's weights (if asked)."""
        outputs = []
        attn: Optional[Tensor] = None
        start = 0
        for spec, branch in zip(self.specs, self.branches):
            part = x[..., start:start + spec.dim]
            start += spec.dim
            if spec.is_attention:
                out, weights = branch(query=part, key=part, value=part, key_padding_mask=key_padding_mask,
                                      incremental_state=incremental_state, need_weights=need_weights,
                                      attn_mask=attn_mask)
                if attn is None:
                    attn = weights
            else:
                out = branch(part, padding_mask=key_padding_mask, incremental_state=incremental_state)
            outputs.append(out)
        return torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0], attn
