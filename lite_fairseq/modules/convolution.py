"""Lightweight and dynamic convolutions over ``T x B x C`` inputs (fairseq's layout), with incremental state.

* :class:`LightweightConvTBC`: one learned kernel per head (``H x K``), shared over time and the head's channels.
* :class:`DynamicConvTBC`: each time step predicts its own kernel (``H x K``) from its input.

Both normalise their kernels with a softmax over the taps (``weight_softmax``) and apply DropConnect
(``weight_dropout``). The full-sequence convolution runs in :mod:`lite_fairseq.kernels` (``B x C x T`` input),
which picks a fused GPU kernel or the PyTorch path. In incremental decoding a causal convolution keeps the last
``K - 1`` inputs of each sentence and :meth:`~DepthwiseConvTBC.reorder_incremental_state` follows the beam.
Read next: :mod:`lite_fairseq.kernels`.
"""

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.incremental_decoding_utils import with_incremental_state
from torch import Tensor

from lite_fairseq import kernels
from lite_fairseq.kernels import softmax_over_taps

from .fast_step import linear_rows, weights_key


@with_incremental_state
class DepthwiseConvTBC(nn.Module):
    """What both convolutions share: checks, incremental state, the single decoding step. Subclasses say how to
    convolve a whole sequence (:meth:`full_sequence`) and which ``B x H x K`` kernel a new step uses
    (:meth:`step_kernel`)."""

    def __init__(self, dim: int, kernel_size: int, padding_l: int, num_heads: int, weight_softmax: bool = True,
                 weight_dropout: float = 0.0, backend: str = "auto"):
        super().__init__()
        kernels.check_conv_config(dim, num_heads, kernel_size, padding_l, "convolution branch")
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

    def full_sequence(self, x: Tensor, padding_l: int) -> Tensor:
        """Convolve all of ``x`` (``T x B x C``) with left padding ``padding_l``."""
        raise NotImplementedError

    def step_kernel(self, x: Tensor) -> Tensor:
        """The normalised kernels (``B x H x K``) for the single new step whose rows are ``x`` (``B x C``)."""
        raise NotImplementedError

    def drop_connect(self, weight: Tensor) -> Tensor:
        """DropConnect on normalised kernels; no operator at all at inference or with ``weight_dropout=0``."""
        if self.training and self.weight_dropout > 0:
            return F.dropout(weight, p=self.weight_dropout, training=True)
        return weight

    def forward(self, x: Tensor, incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None):
        if incremental_state is None:
            return self.full_sequence(x, self.padding_l)
        if x.size(0) == 1:
            return self.step_rows(x[0], incremental_state).unsqueeze(0)
        # several new steps at once: convolve the window (previous inputs + new ones), keep the new outputs
        window = self._append_to_window(x, incremental_state)
        return self.full_sequence(window, self.kernel_size - 1)[-x.size(0):]

    def _append_to_window(self, x: Tensor, incremental_state) -> Tensor:
        """The kept inputs followed by the new ones ``x`` (``T x B x C``); keeps the last K-1 for the next step."""
        if not self.causal:
            raise RuntimeError("incremental decoding needs a causal convolution (padding_l = kernel_size - 1)")
        buffer = self._get_input_buffer(incremental_state)
        window = x if buffer is None else torch.cat([buffer, x], dim=0)
        if self.kernel_size > 1:
            self._set_input_buffer(incremental_state, window[-(self.kernel_size - 1):])
        return window

    def step_rows(self, x: Tensor, incremental_state) -> Tensor:
        """One decoding step on the new input's rows ``x`` (``B x C``, any strides) -> ``B x C``, updating this
        convolution's incremental state (what :meth:`forward` does for a ``1 x B x C`` input).

        One broadcast product of the window of up to K inputs with the step's kernel and one sum over time (two
        operations whatever K, rather than a multiply-add per tap, whose per-call overhead dominated a decoding
        step; see benchmarks/RESULTS.md, "CPU efficiency (issue 13)"). In the first K-1 steps of a sentence the taps
        that would reach before it read zeros, so they are left out."""
        K, H = self.kernel_size, self.num_heads
        window = self._append_to_window(x.unsqueeze(0), incremental_state)
        if window.size(0) > K:
            window = window[-K:]
        T, B, C = window.shape
        weight = self.step_kernel(x)  # B x H x K
        weight = weight[..., K - T:].to(window.dtype).permute(2, 0, 1).unsqueeze(-1)  # T x B x H x 1
        return (window.reshape(T, B, H, C // H) * weight).sum(dim=0).view(B, C)

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


class LightweightConvTBC(DepthwiseConvTBC):
    """One learned kernel per head, shared over time and over the head's channels (parameter ``weight``, H x K)."""

    def __init__(self, dim: int, kernel_size: int, padding_l: int, num_heads: int, weight_softmax: bool = True,
                 weight_dropout: float = 0.0, backend: str = "auto"):
        super().__init__(dim, kernel_size, padding_l, num_heads, weight_softmax, weight_dropout, backend)
        self.weight = nn.Parameter(torch.empty(num_heads, kernel_size))
        nn.init.xavier_uniform_(self.weight)

    def normalised_weight(self, dtype: torch.dtype) -> Tensor:
        """Softmax over taps, then DropConnect once on the shared ``H x K`` kernel (as fairseq's LightweightConv).

        At inference without autograd (decoding) the result is computed once and kept until the weight changes
        (an in-place update, a new tensor) or the dtype asked for differs; training never reads the cache."""
        if self.training or torch.is_grad_enabled():
            return self._normalise(dtype)
        key = (weights_key(self.weight), dtype)
        cached = self.__dict__.get("_normalised_cache")
        if cached is None or cached[0] != key:
            cached = (key, self._normalise(dtype))
            self.__dict__["_normalised_cache"] = cached
        return cached[1]

    def _normalise(self, dtype: torch.dtype) -> Tensor:
        weight = self.weight
        if self.weight_softmax:
            weight = softmax_over_taps(weight, dim=1)
        weight = self.drop_connect(weight)
        return weight.to(dtype)

    def full_sequence(self, x: Tensor, padding_l: int) -> Tensor:
        out = kernels.lightweight_conv(x.permute(1, 2, 0), self.normalised_weight(x.dtype), padding_l,
                                       backend=self.backend)
        return out.permute(2, 0, 1)

    def step_kernel(self, x: Tensor) -> Tensor:
        return self.normalised_weight(x.dtype).unsqueeze(0).expand(x.size(0), -1, -1)


class DynamicConvTBC(DepthwiseConvTBC):
    """Kernels predicted per time step by ``weight_linear`` (C -> H*K, no bias), as in fairseq's DynamicConv."""

    def __init__(self, dim: int, kernel_size: int, padding_l: int, num_heads: int, weight_softmax: bool = True,
                 weight_dropout: float = 0.0, backend: str = "auto"):
        super().__init__(dim, kernel_size, padding_l, num_heads, weight_softmax, weight_dropout, backend)
        self.weight_linear = nn.Linear(dim, num_heads * kernel_size, bias=False)
        nn.init.xavier_uniform_(self.weight_linear.weight)

    def kernel_logits(self, x: Tensor) -> Tensor:
        """Raw kernels ``B x H x K x T`` for ``x`` (``T x B x C``)."""
        T, B, _ = x.shape
        return self.weight_linear(x).view(T, B, self.num_heads, self.kernel_size).permute(1, 2, 3, 0)

    def full_sequence(self, x: Tensor, padding_l: int) -> Tensor:
        logits = self.kernel_logits(x)
        x_bct = x.permute(1, 2, 0)
        if self.weight_softmax:  # softmax and DropConnect fused into the GPU kernel and the CPU band paths
            out = kernels.dynamic_conv_from_logits(x_bct, logits, padding_l, self.weight_dropout, self.training,
                                                   backend=self.backend)
        else:
            weight = self.drop_connect(logits)
            out = kernels.dynamic_conv(x_bct, weight, padding_l, backend=self.backend)
        return out.permute(2, 0, 1)

    def step_kernel(self, x: Tensor) -> Tensor:
        weight = linear_rows(self.weight_linear, x).view(x.size(0), self.num_heads, self.kernel_size)
        if self.weight_softmax:
            weight = softmax_over_taps(weight, dim=2)
        return self.drop_connect(weight)
