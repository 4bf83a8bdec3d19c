"""Dynamic convolution: each time step predicts its own kernel (H heads x K taps) from its input."""

import torch.nn as nn

from .depthwise_conv_base import DepthwiseConvTBC


class DynamicConvTBC(DepthwiseConvTBC):
    def __init__(self, dim, kernel_size, padding_l, num_heads, weight_softmax=True, weight_dropout=0.0,
                 backend="auto", bias: bool = False):
        super().__init__(dim, kernel_size, padding_l, num_heads, weight_softmax, weight_dropout, backend)
        # the kernel predictor
        self.weight_linear = nn.Linear(dim, num_heads * kernel_size, bias=bias)
        nn.init.xavier_uniform_(self.weight_linear.weight)
        if bias:
            nn.init.constant_(self.weight_linear.bias, 0.0)

    def kernel(self, x):
        T, B, _ = x.shape
        logits = self.weight_linear(x).view(T, B, self.num_heads, self.kernel_size)
        return logits.permute(1, 2, 3, 0), True
