"""The convolution branch of LSRA: Linear (+GLU) -> lightweight or dynamic convolution -> Linear."""

from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .dynamic_convolution import DynamicConvTBC
from .lightweight_convolution import LightweightConvTBC


def conv_padding(kernel_size: int, causal: bool) -> int:
    """Left padding: K-1 for a causal (decoder) convolution, centred otherwise (one more tap on the right for
    even K)."""
    return kernel_size - 1 if causal else (kernel_size - 1) // 2


class ConvBranch(nn.Module):
    def __init__(self, dim: int, kernel_size: int, num_heads: int, conv_type: str, causal: bool, glu: bool,
                 weight_softmax: bool = True, weight_dropout: float = 0.0, backend: str = "auto",
                 mask_before_linear: bool = False):
        super().__init__()
        self.glu = glu
        self.mask_before_linear = mask_before_linear
        self.linear1 = nn.Linear(dim, 2 * dim if glu else dim)
        conv_cls = {"lightweight": LightweightConvTBC, "dynamic": DynamicConvTBC}.get(conv_type)
        if conv_cls is None:
            raise ValueError(f"unknown convolution type {conv_type!r}; choose lightweight or dynamic")
        self.conv = conv_cls(dim, kernel_size, conv_padding(kernel_size, causal), num_heads,
                             weight_softmax=weight_softmax, weight_dropout=weight_dropout, backend=backend)
        self.linear2 = nn.Linear(dim, dim)
        for linear in (self.linear1, self.linear2):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.constant_(linear.bias, 0.0)

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None, incremental_state=None) -> Tensor:
        """x: T x B x C; padding_mask: B x T, True at padded positions.

        Padded positions are zeroed after the input projection, so they read as exact zeros like the convolution's
        own padding and never change real positions. ``mask_before_linear`` zeroes them before it instead (the
        authors' code, where padding enters the convolution as the projection's bias): only for converted
        checkpoints that must reproduce the authors' outputs on padded batches."""
        mask = None if padding_mask is None else padding_mask.transpose(0, 1).unsqueeze(2)
        if mask is not None and self.mask_before_linear:
            x = x.masked_fill(mask, 0.0)
        x = self.linear1(x)
        if self.glu:
            x = F.glu(x, dim=-1)
        if mask is not None and not self.mask_before_linear:
            x = x.masked_fill(mask, 0.0)
        x = self.conv(x, incremental_state=incremental_state)
        return self.linear2(x)
