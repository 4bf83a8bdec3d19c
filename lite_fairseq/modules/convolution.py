"""Lightweight and dynamic convolutions over ``T x B x C`` inputs (fairseq's layout), with incremental state.

* :class:`LightweightConvTBC`: one learned kernel per head (``H x K``), shared over time and the head's channels.
* :class:`DynamicConvTBC`: each time step predicts its own kernel (``H x K``) from its input.

Both normalise their kernels with a softmax over the taps (``weight_softmax``) and apply DropConnect
(``weight_dropout``). The full-sequence convolution runs in :mod:`lite_fairseq.kernels` (``B x C x T`` input),
which picks a fused GPU kernel or the PyTorch path. In incremental decoding a causal convolution keeps the last
``K`` inputs of each sentence in a ring (batch first) and :meth:`~DepthwiseConvTBC.reorder_incremental_state`
follows the beam.
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
        if not self.causal:
            raise RuntimeError("incremental decoding needs a causal convolution (padding_l = kernel_size - 1)")
        if x.size(0) == 1:
            return self.step_rows(x[0], incremental_state).unsqueeze(0)
        # several new steps at once: convolve the kept inputs followed by the new ones, keep the new outputs
        K, (T, B, C) = self.kernel_size, x.shape
        ring, newest = self._get_ring(incremental_state, x[0])
        # the ring in time order (the slot after the newest holds the oldest), as K x B x C; its first is dropped
        kept = torch.roll(ring, -(newest + 1), dims=2).permute(2, 0, 1, 3).reshape(K, B, C)[1:]
        window = torch.cat([kept, x], dim=0)
        last = window[-K:].reshape(K, B, self.num_heads, C // self.num_heads).permute(1, 2, 0, 3)
        newest = (newest + T) % K
        self._set_ring(incremental_state, torch.roll(last, newest + 1, dims=2).contiguous(), newest)
        return self.full_sequence(window, K - 1)[-T:]

    def step_rows(self, x: Tensor, incremental_state) -> Tensor:
        """One decoding step on the new input's rows ``x`` (``B x C``, any strides) -> ``B x C``, updating this
        convolution's incremental state (what :meth:`forward` does for a ``1 x B x C`` input).

        The state is a ring of the last K inputs, ``B x H x K x D`` (batch first, so that the beam's reordering is
        one fast gather of rows; heads apart, so that a step is one batched product), and the slot of the newest.
        A step writes ``x`` over the oldest input, then multiplies each head's ring by the step's kernel, its taps
        rotated to the ring's slots: no copy of the window per step (see benchmarks/RESULTS.md, "CPU efficiency
        (issue 13)"). Before K inputs have been seen the ring holds zeros, so the taps that would reach before the
        sentence contribute nothing."""
        K, H = self.kernel_size, self.num_heads
        B, C = x.shape
        weight = self.step_kernel(x).to(x.dtype)  # B x H x K
        if K == 1:
            return (weight * x.reshape(B, H, C // H)).view(B, C)
        ring, newest = self._get_ring(incremental_state, x)
        newest = (newest + 1) % K
        if torch.is_grad_enabled():
            ring = ring.clone()  # autograd keeps the ring a product read: write a new one
        ring[:, :, newest] = x.reshape(B, H, C // H)
        taps = weight.index_select(2, self._tap_order(newest, x.device))  # slot s holds tap (s - newest - 1) % K
        if K < 5:  # few taps: a broadcast product beats a batched product of B*H 1 x K matrices
            out = (ring * taps.unsqueeze(-1)).sum(dim=2)
        else:
            out = torch.bmm(taps.view(B * H, 1, K), ring.view(B * H, K, C // H))
        self._set_ring(incremental_state, ring, newest)
        return out.view(B, C)

    def _tap_order(self, newest: int, device: torch.device) -> Tensor:
        """Index of the kernel tap that applies to each ring slot when ``newest`` holds the newest input."""
        cache = self.__dict__.setdefault("_tap_orders", {})
        if device not in cache:
            slots = torch.arange(self.kernel_size, device=device)
            cache[device] = [(slots - n - 1) % self.kernel_size for n in range(self.kernel_size)]
        return cache[device][newest]

    def _slot(self, newest: int) -> Tensor:
        """``newest`` as a 0-dim tensor (fairseq's incremental state holds tensors), one kept per slot."""
        slots = self.__dict__.get("_slots")
        if slots is None:
            slots = self.__dict__["_slots"] = [torch.tensor(n) for n in range(self.kernel_size)]
        return slots[newest]

    def reorder_incremental_state(self, incremental_state: Dict[str, Dict[str, Optional[Tensor]]],
                                  new_order: Tensor):
        state = self.get_incremental_state(incremental_state, "conv_state")
        if state is not None and state.get("ring") is not None:
            self.set_incremental_state(incremental_state, "conv_state",
                                       {"ring": state["ring"].index_select(0, new_order), "newest": state["newest"]})

    def _get_ring(self, incremental_state, like: Tensor):
        """The ring (``B x H x K x D``) and the slot of its newest input; zeros before the first step."""
        state = self.get_incremental_state(incremental_state, "conv_state")
        if state is None or state.get("ring") is None:
            B, C = like.shape
            return like.new_zeros(B, self.num_heads, self.kernel_size, C // self.num_heads), self.kernel_size - 1
        return state["ring"], int(state["newest"])

    def _set_ring(self, incremental_state, ring: Tensor, newest: int):
        self.set_incremental_state(incremental_state, "conv_state", {"ring": ring, "newest": self._slot(newest)})

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
