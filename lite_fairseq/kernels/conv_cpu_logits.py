"""Dynamic convolution from kernel logits on the CPU band paths: softmax over the taps, DropConnect and the band
product in one autograd function (what :func:`lite_fairseq.kernels.dynamic_conv_from_logits` runs on the CPU).

Same meaning as ``F.dropout(softmax(logits, dim=2), p, training)`` followed by the band convolution of
:mod:`.conv_cpu`, in fewer passes over ``B x H x K x T`` tensors:

* the DropConnect mask is the layers' dropout draw (:mod:`.dropout_cpu`: 16- or 32-bit fields of numpy's PCG64
  integers compared with a threshold, each tap kept with probability ``1 - p`` independently, as ``F.dropout``
  does), ANDed with the taps that can touch the sequence;
* the kept softmax values are written straight into the band matrices' diagonals (no dropped-weight tensor),
  and the ``1 / (1 - p)`` scale rides on the matrix products (``alpha`` of ``baddbmm``);
* the backward pass reads the kept weights back from the band: with ``w = y * keep``, the logits' gradient is
  ``g*w - y * sum_k(g*w)`` (softmax's backward with the mask folded in); no mask, no float noise tensor and no
  separate weight tensor are kept, so it holds less memory than softmax + dropout + band.
"""

from typing import Optional

import torch
import torch.nn.functional as F

from .conv_cpu import (_diagonals, band_backward, band_forward, choose_dynamic_path, chunk_length, dynamic_conv_cpu,
                       trim_taps)
from .dropout_cpu import drop_threshold, field_bits, random_fields
from .dynamic_conv_torch import softmax_over_taps


def check_weight_dropout(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dynamic_conv_from_logits: weight_dropout must be in [0, 1], got {p}")


def _valid_taps(K: int, T: int, padding_l: int, device) -> torch.Tensor:
    """``K x T`` bool: tap k of step t reads ``t + k - padding_l`` inside ``[0, T)``."""
    s = torch.arange(K, device=device).view(K, 1) + torch.arange(T, device=device) - padding_l
    return (s >= 0) & (s < T)


def keep_mask(y: torch.Tensor, p: float, lo: int, K: int, padding_l: int) -> torch.Tensor:
    """Bool mask (broadcastable to ``B x H x K x T``) of the taps ``lo .. lo+K-1`` of ``y`` that are kept (each with
    probability ``1 - p``) and can touch the sequence."""
    B, H, _, T = y.shape
    valid = _valid_taps(K, T, padding_l, y.device).view(1, 1, K, T)
    if p <= 0.0:
        return valid
    if p >= 1.0:
        return torch.zeros((1, 1, K, T), dtype=torch.bool, device=y.device)
    bits = field_bits(p)
    keep = random_fields(B * H * K * T, bits).view(B, H, K, T) >= drop_threshold(p, bits)
    every_tap_valid = K == 1 and padding_l == 0  # otherwise the first or the last step has a tap outside
    return keep if every_tap_valid else keep & valid


def _fill_band(band: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, N: int, L: int) -> None:
    """``band[b*H*N + h*N + n, i, i + k] = y[b, h, k, n*L + i] * keep[...]`` (the band is already zeroed)."""
    B, H, K, T = y.shape
    diag = _diagonals(band, K).view(B * H, N, L, K)
    taps = y.transpose(2, 3).reshape(B * H, T, K)  # a view for logits built as T x B x H x K
    kept = keep.expand(B, H, K, T).transpose(2, 3).reshape(B * H, T, K)
    full = (T // L) * L
    if full:
        torch.mul(taps[:, :full].view(B * H, T // L, L, K), kept[:, :full].view(B * H, T // L, L, K),
                  out=diag[:, : T // L])
    if full < T:
        torch.mul(taps[:, full:], kept[:, full:], out=diag[:, T // L, : T - full])


class _SoftmaxDropoutBandConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, logits, padding_l: int, L: int, p: float):
        B, C, T = x.shape
        H = logits.shape[1]
        time_major = logits.permute(3, 0, 1, 2)  # the layer's logits: a view of a contiguous T x B x H x K tensor
        if time_major.is_contiguous():  # softmax over the contiguous last dim, y in the same layout (no copies)
            y = softmax_over_taps(time_major, dim=3).permute(1, 2, 3, 0)
        else:
            y = softmax_over_taps(logits, dim=2)
        kept_y, P = trim_taps(y, padding_l, T)  # only the taps that can touch the sequence enter the band
        Kt = kept_y.shape[2]
        lo = padding_l - P
        N = -(-T // L)
        band = y.new_zeros(B * H * N, L, L + Kt - 1)
        _fill_band(band, kept_y, keep_mask(y, p, lo, Kt, P), N, L)
        scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
        out, xw = band_forward(x, band, P, Kt, N, L, alpha=scale)
        ctx.save_for_backward(xw, band, y)
        ctx.shape = (B, C, T, H, Kt, N, L, P)
        ctx.lo, ctx.scale = lo, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xw, band, y = ctx.saved_tensors
        B, C, T, H, Kt, N, L, P = ctx.shape
        # taps: scale * d(loss)/d(band diagonal); the taps outside [0, T) meet zero band entries below
        grad_x, taps = band_backward(grad_out, xw, band, ctx.shape, ctx.needs_input_grad[0],
                                     ctx.needs_input_grad[1], alpha=ctx.scale, zero_outside=False)
        grad_l = None
        if taps is not None:
            kept_w = _diagonals(band, Kt).reshape(B * H, N * L, Kt)[:, :T]  # y * keep, as in the forward pass
            gw = torch.empty_like(y) if Kt == y.shape[2] else torch.zeros_like(y)
            torch.mul(taps.reshape(B, H, T, Kt).transpose(2, 3), kept_w.reshape(B, H, T, Kt).transpose(2, 3),
                      out=gw.narrow(2, ctx.lo, Kt))
            # softmax backward with the mask folded in: y * dL/dy = g * w, so dL/dlogits = g*w - y * sum_k g*w
            grad_l = gw.addcmul_(y, gw.sum(dim=2, keepdim=True), value=-1)
        return grad_x, grad_l, None, None, None


def band_conv_from_logits(x: torch.Tensor, logits: torch.Tensor, padding_l: int, p: float,
                          chunk=None) -> torch.Tensor:
    """Softmax over the taps of ``logits`` (``B x H x K x T``), DropConnect with probability ``p`` (0: none), band
    convolution of ``x`` (``B x C x T``) with ``chunk`` time steps per band (default: all of T)."""
    check_weight_dropout(p)
    T = x.shape[2]
    L = T if chunk is None else min(T, chunk)
    Kt = min(logits.shape[2], 2 * T - 1)
    if L < T and L < Kt - 1:
        raise ValueError(f"band_conv_from_logits: chunk={chunk} must be at least K-1={Kt - 1} (or at least T={T})")
    dtype = torch.result_type(x, logits)
    return _SoftmaxDropoutBandConv.apply(x.to(dtype), logits.to(dtype), padding_l, L, float(p))


def dynamic_conv_from_logits_cpu(x: torch.Tensor, logits: torch.Tensor, padding_l: int, weight_dropout: float = 0.0,
                                 training: bool = False, path: Optional[str] = None) -> torch.Tensor:
    """:func:`lite_fairseq.kernels.dynamic_conv_from_logits` on the CPU: the chosen path (None:
    :func:`~.conv_cpu.choose_dynamic_path`) with softmax and DropConnect fused into the band paths; the shift path
    composes ``F.softmax``, ``F.dropout`` and shift-and-add. Shapes already checked."""
    check_weight_dropout(weight_dropout)
    B, C, T = x.shape
    H, K = logits.shape[1], logits.shape[2]
    path = path or choose_dynamic_path(B, C, H, K, T)
    p = weight_dropout if training else 0.0
    if path == "band":
        return band_conv_from_logits(x, logits, padding_l, p)
    if path == "chunked":
        return band_conv_from_logits(x, logits, padding_l, p, chunk=chunk_length(min(K, 2 * T - 1), T))
    weight = F.dropout(softmax_over_taps(logits, dim=2), p=p, training=p > 0)
    return dynamic_conv_cpu(x, weight, padding_l, path)
