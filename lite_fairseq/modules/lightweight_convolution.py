"""Lightweight convolution: one learned kernel per head, shared over time and over the head's channels."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from lite_fairseq.kernels.dynamic_conv_torch import softmax_over_taps

from .depthwise_conv_base import DepthwiseConvTBC


class LightweightConvTBC(DepthwiseConvTBC):
    def __init__(self, dim, kernel_size, padding_l, num_heads, weight_softmax=True, weight_dropout=0.0,
                 backend="auto"):
        super().__init__(dim, kernel_size, padding_l, num_heads, weight_softmax, weight_dropout, backend)
        self.weight = nn.Parameter(torch.empty(num_heads, kernel_size))
        nn.init.xavier_uniform_(self.weight)

    def kernel(self, x):
        T, B, _ = x.shape
        weight = self.weight
        if self.weight_softmax:
            weight = softmax_over_taps(weight, dim=1)
        # DropConnect on the shared kernel, as in fairseq's LightweightConv
        weight = F.dropout(weight, p=self.weight_dropout, training=self.training)
        weight = weight.to(x.dtype)
        # a stride-0 view over batch and time: nothing is copied
        return weight.view(1, self.num_heads, self.kernel_size, 1).expand(B, -1, -1, T), False
