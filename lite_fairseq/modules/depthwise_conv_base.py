"""Shared machinery of the lightweight and dynamic convolutions: layout, backend dispatch, incremental state.

Inputs and outputs are ``T x B x C`` (fairseq's layout). The convolution itself runs through
:mod:`lite_fairseq.kernels` (``B x C x T`` input, ``B x H x K x T`` kernels), so a fused GPU kernel slots in
without touching the layers. In incremental decoding a causal convolution keeps the last ``K - 1`` inputs of each
sentence, and :meth:`reorder_incremental_state` follows the beam.
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.incremental_decoding_utils import with_incremental_state
from torch import Tensor

from lite_fairseq import kernels
from lite_fairseq.kernels.dynamic_conv_torch import softmax_over_taps


@with_incremental_state
class DepthwiseConvTBC(nn.Module):
    """Base class: subclasses say how the ``B x H x K x T`` kernels are made (:meth:`kernel`)."""

    def __init__(self, dim: int, kernel_size: int, padding_l: int, num_heads: int, weight_softmax: bool = True,
                 weight_dropout: float = 0.0, backend: str = "auto"):
        super().__init__()
        if num_heads < 1 or dim % num_heads != 0:
            raise ValueError(f"{num_heads} convolution heads do not divide the branch width {dim}")
        if kernel_size < 1:
            raise ValueError(f"kernel size must be at least 1, got {kernel_size}")
        if not 0 <= padding_l <= kernel_size - 1:
            raise ValueError(f"padding_l={padding_l} must lie in [0, {kernel_size - 1}] for kernel size {kernel_size}")
        if backend not in kernels.BACKENDS:
            raise ValueError(f"convolution backend {backend!r} is not one of {', '.join(kernels.BACKENDS)}")
        self.dim = dim
        self.kernel_size = kernel_size
        self.padding_l = padding_l
        self.num_heads = num_heads
        self.weight_softmax = weight_softmax
        self.weight_dropout = weight_dropout
        self.backend = backend

    @property
    def causal(self) -> bool:
        return self.padding_l == self.kernel_size - 1

    def kernel(self, x: Tensor) -> Tuple[Tensor, bool]:
        """Return (kernels ``B x H x K x T`` for input ``x`` (``T x B x C``), whether they are raw logits that
        still need the softmax over taps and DropConnect)."""
        raise NotImplementedError

    def normalise(self, kernel: Tensor, is_logits: bool) -> Tensor:
        """Softmax over taps (dim 2) and DropConnect, for kernels that still need them."""
        if is_logits:
            if self.weight_softmax:
                kernel = softmax_over_taps(kernel, dim=2)
            kernel = F.dropout(kernel, p=self.weight_dropout, training=self.training)
        return kernel

    def convolve(self, x: Tensor, padding_l: int) -> Tensor:
        """Full-sequence convolution of ``x`` (``T x B x C``)."""
        kernel, is_logits = self.kernel(x)
        x_bct = x.permute(1, 2, 0)
        if is_logits and self.weight_softmax:
            out = kernels.dynamic_conv_from_logits(x_bct, kernel, padding_l, self.weight_dropout, self.training,
                                                   backend=self.backend)
        else:
            out = kernels.dynamic_conv(x_bct, self.normalise(kernel, is_logits), padding_l, backend=self.backend)
        return out.permute(2, 0, 1)

    def forward(self, x: Tensor, incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None):
        if incremental_state is None:
            return self.convolve(x, self.padding_l)
        if not self.causal:
            raise RuntimeError("incremental decoding needs a causal convolution (padding_l = kernel_size - 1)")
        K = self.kernel_size
        buffer = self._get_input_buffer(incremental_state)
        window = x if buffer is None else torch.cat([buffer, x], dim=0)
        if K > 1:
            self._set_input_buffer(incremental_state, window[-(K - 1):])
        if x.size(0) == 1:
            return self._single_step(window)
        # several new steps at once: convolve the window (previous inputs + new ones), keep the new outputs
        return self.convolve(window, K - 1)[-x.size(0):]

    def _single_step(self, window: Tensor) -> Tensor:
        """One decoding step: ``window`` holds up to K inputs ending with the new one (``T' x B x C``).

        A sum over the taps, one fused multiply-add per tap on ``B x C`` (measured on one CPU thread, B=200 rows,
        C=248, K=31: 0.3-0.8 ms against 2.4 ms for an einsum over a zero-padded window, which copies it twice). In
        the first K-1 steps of a sentence the taps that would reach before it read zeros, so they are left out."""
        K, H = self.kernel_size, self.num_heads
        if window.size(0) > K:
            window = window[-K:]
        T, B, C = window.shape
        kernel, is_logits = self.kernel(window[-1:])
        weight = self.normalise(kernel, is_logits)[..., 0]  # B x H x K
        weight = weight[..., K - T:].to(window.dtype).unsqueeze(-1)  # B x H x T x 1, the taps that see the window
        x = window.reshape(T, B, H, C // H)
        out = x[0] * weight[:, :, 0]
        for t in range(1, T):
            out.addcmul_(x[t], weight[:, :, t])
        return out.reshape(1, B, C)

    def reorder_incremental_state(self, incremental_state: Dict[str, Dict[str, Optional[Tensor]]],
                                  new_order: Tensor):
        buffer = self._get_input_buffer(incremental_state)
        if buffer is not None:
            self._set_input_buffer(incremental_state, buffer.index_select(1, new_order))

    def _get_input_buffer(self, incremental_state) -> Optional[Tensor]:
        state = self.get_incremental_state(incremental_state, "conv_state")
        return None if state is None else state.get("input_buffer")

    def _set_input_buffer(self, incremental_state, buffer: Tensor):
        self.set_incremental_state(incremental_state, "conv_state", {"input_buffer": buffer})

    def extra_repr(self) -> str:
        return (f"{self.dim}, kernel_size={self.kernel_size}, padding_l={self.padding_l}, "
                f"num_heads={self.num_heads}, weight_softmax={self.weight_softmax}, "
                f"weight_dropout={self.weight_dropout}, backend={self.backend}")
