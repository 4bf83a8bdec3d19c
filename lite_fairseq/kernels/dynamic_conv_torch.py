"""Plain PyTorch dynamic convolution by shift-and-add: the least-memory CPU candidate ("shift" in conv_cpu).

Layout follows fairseq's ``dynamicconv_cuda`` extension:

* ``x``: ``B x C x T`` input,
* ``weight``: ``B x H x K x T`` per-time-step kernels (already normalised), ``H`` dividing ``C``,
* output: ``B x C x T``, ``out[b, c, t] = sum_k weight[b, h(c), k, t] * x[b, c, t + k - padding_l]``
  with zeros outside ``[0, T)`` and ``h(c) = c // (C // H)``.

The computation is a sum over the K taps of shifted copies of ``x`` scaled by one tap of the kernel, so it never
builds the ``B x C x K x T`` unfolded tensor (or a ``T x T`` band matrix): memory is O(B*C*T) whatever K is,
and autograd gives both gradients.
"""

from typing import Optional

import torch
import torch.nn.functional as F


def check_conv_config(channels: int, heads: int, kernel_size: int, padding_l: int, what: str) -> None:
    """Raise a ValueError naming what does not fit: H heads must divide C channels, K >= 1, 0 <= padding_l < K."""
    if heads < 1 or channels % heads != 0:
        raise ValueError(f"{what}: heads H={heads} must divide channels C={channels}")
    if kernel_size < 1:
        raise ValueError(f"{what}: kernel size must be at least 1, got K={kernel_size}")
    if not 0 <= padding_l <= kernel_size - 1:
        raise ValueError(f"{what}: padding_l={padding_l} must lie in [0, K-1] for kernel size K={kernel_size}")


def check_dynamic_conv_shapes(x: torch.Tensor, weight: torch.Tensor, padding_l: int) -> None:
    """Raise a ValueError naming what does not fit, before any kernel runs."""
    if x.dim() != 3:
        raise ValueError(f"dynamic_conv: x must be B x C x T, got shape {tuple(x.shape)}")
    if weight.dim() != 4:
        raise ValueError(f"dynamic_conv: weight must be B x H x K x T, got shape {tuple(weight.shape)}")
    B, C, T = x.shape
    Bw, H, K, Tw = weight.shape
    if Bw != B or Tw != T:
        raise ValueError(
            f"dynamic_conv: weight {tuple(weight.shape)} does not match x {tuple(x.shape)} "
            "(expected weight B x H x K x T with the same B and T as x)"
        )
    check_conv_config(C, H, K, padding_l, "dynamic_conv")


def dynamic_conv_torch(x: torch.Tensor, weight: torch.Tensor, padding_l: int) -> torch.Tensor:
    """Dynamic (per-time-step) depthwise convolution, shift-and-add formulation."""
    check_dynamic_conv_shapes(x, weight, padding_l)
    B, C, T = x.shape
    H, K = weight.shape[1], weight.shape[2]
    R = C // H
    x4 = x.reshape(B, H, R, T)
    # zero-pad the time axis once: x_pad[..., s] = x[..., s - padding_l]
    x_pad = F.pad(x4, (padding_l, K - 1 - padding_l))
    out: Optional[torch.Tensor] = None
    for k in range(K):
        # tap k reads x[t + k - padding_l] = x_pad[t + k]
        term = x_pad[..., k : k + T] * weight[:, :, k, :].unsqueeze(2)
        out = term if out is None else out + term
    return out.reshape(B, C, T)


def dynamic_conv_from_logits_torch(
    x: torch.Tensor,
    logits: torch.Tensor,
    padding_l: int,
    weight_dropout: float = 0.0,
    training: bool = False,
) -> torch.Tensor:
    """Softmax over the K taps, DropConnect on the normalised taps, then :func:`dynamic_conv_torch`."""
    weight = softmax_over_taps(logits, dim=2)
    weight = F.dropout(weight, p=weight_dropout, training=training)
    return dynamic_conv_torch(x, weight, padding_l)


def softmax_over_taps(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax computed in at least float32 (half-precision logits are upcast), returned in the input's dtype."""
    if logits.dtype in (torch.float16, torch.bfloat16):
        return F.softmax(logits.float(), dim=dim).type_as(logits)
    return F.softmax(logits, dim=dim)
