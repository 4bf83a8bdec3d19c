"""Fast PyTorch (CPU) paths for dynamic and lightweight convolution, with a per-shape choice among them.

Same layout and meaning as :mod:`lite_fairseq.kernels.dynamic_conv_torch`:
``out[b, c, t] = sum_k w[b, h(c), k, t] * x[b, c, t + k - padding_l]``, x ``B x C x T``, w ``B x H x K x T``
(``H x K`` for lightweight convolution), zeros outside ``[0, T)``.

Dynamic-convolution paths (:data:`DYNAMIC_PATHS`):

* ``"band"``: per (batch, head) the kernels become one ``T x (T+K-1)`` band matrix (fairseq's "expanded" idea) and
  the convolution is one batched matrix product with the zero-padded input; the backward pass is two more batched
  products (input gradient: output gradient times the band; weight gradient: the band's diagonals of output
  gradient times padded input). A custom autograd function, so nothing else is kept for the backward pass.
* ``"chunked"``: the same with time cut into chunks of ``L`` steps, each a ``L x (L+K-1)`` band against its own
  window of the input (a strided view of x, read in place: one batched product per chunk); multiply-adds fall
  from ``T*(T+K-1)`` to ``T*(L+K-1)`` per channel, which matters for long sequences (T=512). ``L = T`` is the band
  path.
* ``"shift"``: the original shift-and-add over the K taps (:func:`dynamic_conv_torch`), least memory.

Lightweight convolution (:data:`LIGHTWEIGHT_PATHS`) runs the dynamic paths on a stride-0 expanded weight and adds
``"conv1d"``: one depthwise ``F.conv1d`` (oneDNN) with the head's kernel repeated over its channels.

:func:`choose_dynamic_path` / :func:`choose_lightweight_path` pick a path from the shape alone (a fixed rule, so a
run is reproducible); :func:`dynamic_conv_cpu` / :func:`lightweight_conv_cpu` take ``path=`` to force one.
:func:`band_forward` / :func:`band_backward` are the products themselves, shared with :mod:`.conv_cpu_logits`
(softmax and DropConnect fused in, what the layers run from their kernel logits).

Memory: the band matrices hold ``B*H*T_p*(L+K-1)`` numbers (``T_p``: T rounded up to a multiple of L), at most
fairseq's ``B*H*T*(T+K-1)``; the chunked backward pass adds one chunk's band gradient. Kernels longer than the
sequence are first cut to the taps that can touch it (at most ``2T-1``), as fairseq does for the causal case.
"""

from typing import Optional

import torch
import torch.nn.functional as F

from .dynamic_conv_torch import dynamic_conv_torch

DYNAMIC_PATHS = ("band", "chunked", "shift")
LIGHTWEIGHT_PATHS = ("conv1d", "band", "chunked", "shift")


def _check_path(path: str, allowed) -> None:
    if path not in allowed:
        raise ValueError(f"unknown CPU convolution path {path!r}; choose one of {', '.join(allowed)}")


def chunk_length(K: int, T: int) -> int:
    """Time steps per chunk of the chunked path: T split into equal chunks of about 2K steps (fewer multiply-adds
    than the full band once T is several K, while each window's overhead (K-1)/L stays under one half). Never
    under K-1 (the backward overlap-add spills into the next chunk only) unless it is all of T."""
    target = max(2 * K, 16)
    n = -(-T // target)
    return -(-T // n)


def trim_taps(weight: torch.Tensor, padding_l: int, T: int):
    """Drop the taps that never touch the sequence (tap k reads ``t + k - padding_l``, valid only for
    ``|k - padding_l| < T``); returns the narrowed weight (dim 2) and the new padding. Gradients of the dropped
    taps are zero, as they should be."""
    K = weight.shape[2]
    lo = max(0, padding_l - T + 1)
    hi = min(K - 1, padding_l + T - 1)
    if lo == 0 and hi == K - 1:
        return weight, padding_l
    return weight.narrow(2, lo, hi - lo + 1), padding_l - lo


def _diagonals(band: torch.Tensor, K: int) -> torch.Tensor:
    """View of the K diagonals of a contiguous ``n x L x (L+K-1)`` band: ``[n, i, k] = band[n, i, i + k]``."""
    n, L, W = band.shape
    return band.as_strided((n, L, K), (L * W, W + 1, 1))


def _build_band(weight: torch.Tensor, N: int, L: int) -> torch.Tensor:
    """``band[b*H*N + h*N + n, i, i + k] = weight[b, h, k, n*L + i]``, zeros elsewhere: ``BH*N x L x (L+K-1)``.
    The taps are copied straight from weight's own strides (no intermediate copy)."""
    B, H, K, T = weight.shape
    band = weight.new_zeros(B * H * N, L, L + K - 1)
    diag = _diagonals(band, K).view(B * H, N, L, K)
    taps = weight.transpose(2, 3).reshape(B * H, T, K)  # a view for weights built from T x B x H x K logits
    full = (T // L) * L
    if full:
        diag[:, : T // L].copy_(taps[:, :full].view(B * H, T // L, L, K))
    if full < T:
        diag[:, T // L, : T - full].copy_(taps[:, full:])
    return band


def _bmm(a: torch.Tensor, b: torch.Tensor, alpha: float = 1.0, out=None) -> torch.Tensor:
    """``alpha * (a @ b)`` batched, the scale folded into the product (no extra pass over the result)."""
    if alpha == 1.0:
        return torch.bmm(a, b, out=out)
    return torch.baddbmm(a.new_zeros(()), a, b, beta=0, alpha=alpha, out=out)


def _apply_band(band: torch.Tensor, x3: torch.Tensor, like: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``out[n, r, t] = alpha * sum_s band[n, t, s] * x3[n, r, s]`` (``n x R x T``), laid out like ``like``
    (``B x C x T``): for a time-major tensor (a permuted ``T x B x C``) the product is written straight into that
    layout, so neither this result nor the gradients added to it later need a transposing copy."""
    if like.stride(2) == 1 or like.dim() != 3:
        return _bmm(x3, band.transpose(1, 2), alpha)
    out = torch.empty_like(like)
    try:
        out3 = out.view(x3.shape)
    except RuntimeError:  # strides that do not split into heads: the plain product
        return _bmm(x3, band.transpose(1, 2), alpha)
    # (a bmm writing into the strided view directly falls back to one small product per batch entry: slower);
    # the scale rides on the copy into that layout
    torch.mul(torch.bmm(band, x3.transpose(1, 2)), alpha, out=out3.transpose(1, 2))
    return out3


def band_forward(x: torch.Tensor, band: torch.Tensor, padding_l: int, K: int, N: int, L: int,
                 alpha: float = 1.0):
    """``alpha`` times the convolution of ``x`` (``B x C x T``) with the band matrices of :func:`_build_band`;
    returns the output and the input (a ``BH x R x T`` view of x) the backward pass needs. Each band (the whole
    sequence or one chunk) is narrowed to the columns that meet the unpadded input, as fairseq does for the whole
    sequence, so x is read in place, whatever its strides (a permuted T x B x C tensor costs no copy)."""
    B, C, T = x.shape
    BH = band.shape[0] // N
    R, W = C * B // BH, L + K - 1
    x3 = x.reshape(BH, R, T)
    if N == 1:
        return _apply_band(band.narrow(2, padding_l, T), x3, like=x, alpha=alpha).reshape(B, C, T), x3
    # chunk n: output steps [t0, t1) from input steps [a, b), read in place (no padded or windowed copy of x)
    out, out3 = _empty_like_split(like=x, shape=x3.shape)
    band4 = band.view(BH, N, L, W)
    for n, t0, t1, a, b, c0 in _chunk_ranges(T, padding_l, K, N, L):
        prod = torch.bmm(band4[:, n, : t1 - t0, c0 : c0 + b - a], x3[:, :, a:b].transpose(1, 2))  # BH x rows x R
        torch.mul(prod, alpha, out=out3[:, :, t0:t1].transpose(1, 2))
    return out.reshape(B, C, T), x3


def _chunk_ranges(T: int, padding_l: int, K: int, N: int, L: int):
    """Per chunk n: its output steps ``[t0, t1)``, the input steps ``[a, b)`` its band reads (inside ``[0, T)``) and
    the band column ``c0`` that meets step ``a``."""
    W = L + K - 1
    for n in range(N):
        t0, t1 = n * L, min(T, (n + 1) * L)
        s0 = t0 - padding_l
        a, b = max(0, s0), min(T, s0 + W)
        yield n, t0, t1, a, b, a - s0


def _empty_like_split(like: torch.Tensor, shape, zero: bool = False):
    """A tensor laid out like ``like`` (``B x C x T``) and its ``BH x R x T`` view (a plain tensor if the strides do
    not split into heads)."""
    out = torch.zeros_like(like) if zero else torch.empty_like(like)
    try:
        return out, out.view(shape)
    except RuntimeError:
        out = like.new_zeros(shape) if zero else like.new_empty(shape)
        return out, out


def band_backward(grad_out: torch.Tensor, xw: torch.Tensor, band: torch.Tensor, shape, need_x: bool,
                  need_w: bool, alpha: float = 1.0, zero_outside: bool = True):
    """Gradients of :func:`band_forward`: the input's (``B x C x T``) and the taps' (``BH x T x K``, tap k of step
    t), both times ``alpha``. ``zero_outside=False`` leaves the taps that read outside ``[0, T)`` (whose gradient is
    zero) holding finite values from elsewhere, for a caller that multiplies them by zero weights anyway."""
    B, C, T, H, K, N, L, padding_l = shape
    R, BH, W = C // H, B * H, L + K - 1
    go = grad_out.reshape(BH, R, T)
    grad_x = taps = None
    if need_x:
        if N == 1:
            grad_x = _apply_band(band.narrow(2, padding_l, T).transpose(1, 2), go, like=grad_out, alpha=alpha)
            grad_x = grad_x.view(B, C, T)
        else:  # each chunk's input gradient added into the steps it read (neighbours overlap by K-1 steps)
            grad_x, gx3 = _empty_like_split(like=grad_out, shape=(BH, R, T), zero=True)
            go3, band4 = go, band.view(BH, N, L, W)
            for n, t0, t1, a, b, c0 in _chunk_ranges(T, padding_l, K, N, L):
                prod = torch.bmm(band4[:, n, : t1 - t0, c0 : c0 + b - a].transpose(1, 2),
                                 go3[:, :, t0:t1].transpose(1, 2))  # BH x cols x R
                gx3[:, :, a:b].transpose(1, 2).add_(prod, alpha=alpha)
            grad_x = grad_x.reshape(B, C, T)
    if need_w:
        if N == 1:
            # G[n, t, s] = sum_r go[n, r, t] x[n, r, s] (n x T x T) placed P elements into a flat buffer, so that
            # the diagonal view [n, t, k] -> G[n, t, t + k - P] stays inside it; taps reading outside [0, T)
            # land on other entries (or the zeroed margins) and are zeroed when asked (no band-sized buffer)
            flat = band.new_empty(BH * T * T + K)
            flat[:padding_l].zero_()
            flat[padding_l + BH * T * T :].zero_()
            _bmm(go.transpose(1, 2), xw, alpha, out=flat[padding_l : padding_l + BH * T * T].view(BH, T, T))
            taps = flat.as_strided((BH, T, K), (T * T, T + 1, 1))
            if zero_outside:
                s_idx = (torch.arange(T, device=band.device).view(T, 1) + torch.arange(K, device=band.device)
                         - padding_l)
                taps = taps.masked_fill(((s_idx < 0) | (s_idx >= T)).view(1, T, K), 0)
        else:  # one chunk's band gradient at a time (zero where its band reads outside [0, T)), its diagonals kept
            taps = band.new_empty(BH, T, K)
            gband = band.new_zeros(BH, L, W)
            for _, t0, t1, a, b, c0 in _chunk_ranges(T, padding_l, K, N, L):
                if c0 > 0 or b - a < W:  # an edge chunk: columns left from the previous chunk must read zero
                    gband.zero_()
                prod = torch.bmm(go[:, :, t0:t1].transpose(1, 2), xw[:, :, a:b])  # BH x rows x cols
                torch.mul(prod, alpha, out=gband[:, : t1 - t0, c0 : c0 + b - a])
                taps[:, t0:t1] = _diagonals(gband, K)[:, : t1 - t0]
    return grad_x, taps


class _ChunkedBandConv(torch.autograd.Function):
    """Dynamic convolution as batched products with band matrices over chunks of L time steps."""

    @staticmethod
    def forward(ctx, x, weight, padding_l: int, L: int):
        B, C, T = x.shape
        H, K = weight.shape[1], weight.shape[2]
        N = -(-T // L)
        band = _build_band(weight, N, L)
        out, xw = band_forward(x, band, padding_l, K, N, L)
        ctx.save_for_backward(xw, band)
        # the weight's own layout when it is dense (e.g. permuted T x B x H x K), for its gradient
        ctx.weight_strides = torch.empty_like(weight, device="meta").stride()
        ctx.shape = (B, C, T, H, K, N, L, padding_l)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xw, band = ctx.saved_tensors
        B, C, T, H, K = ctx.shape[:5]
        grad_x, taps = band_backward(grad_out, xw, band, ctx.shape, ctx.needs_input_grad[0],
                                     ctx.needs_input_grad[1])
        grad_w = None
        if taps is not None:
            grad_w = band.new_empty(B * H * K * T).as_strided((B, H, K, T), ctx.weight_strides)
            grad_w.copy_(taps.reshape(B, H, T, K).transpose(2, 3))  # in the weight's own layout
        return grad_x, grad_w, None, None


def band_conv(x: torch.Tensor, weight: torch.Tensor, padding_l: int, chunk: Optional[int] = None) -> torch.Tensor:
    """Dynamic convolution by band-matrix products; ``chunk`` time steps per band (default: all of T)."""
    T = x.shape[2]
    weight, padding_l = trim_taps(weight, padding_l, T)
    K = weight.shape[2]
    L = T if chunk is None else min(T, chunk)
    if L < T and L < K - 1:
        raise ValueError(f"band_conv: chunk={chunk} must be at least K-1={K - 1} (or at least T={T})")
    dtype = torch.result_type(x, weight)
    return _ChunkedBandConv.apply(x.to(dtype), weight.to(dtype), padding_l, L)


def choose_dynamic_path(B: int, C: int, H: int, K: int, T: int) -> str:
    """Per-shape rule: the full band until it is 1.5x wider than a chunk's band (T+K-1 against L+K-1), the chunked
    band beyond. Since the chunks read x in place (no windowed copy), the chunked band won where it saves a third
    of the multiply-adds or more (measured with the benchmark's --candidates paths, 1 and 2 threads: T=128, K=31,
    2.2x narrower; T=512, K=63, 3.5x narrower); at T=32 a sequence is a single chunk (L = T) anyway."""
    K = min(K, 2 * T - 1)
    L = chunk_length(K, T)
    return "band" if 2 * (T + K - 1) <= 3 * (L + K - 1) else "chunked"


def choose_lightweight_path(B: int, C: int, H: int, K: int, T: int) -> str:
    """Per-shape rule for lightweight convolution: the dynamic rule on the expanded weight, but the chunked band
    only with three chunks or more (with two, at T=32 and K=15, its per-chunk input-gradient product, about half of
    x, put the peak 0.7 MiB above fairseq's band path; the band matched it). oneDNN's depthwise ``conv1d`` lost to
    the band paths at all five benchmark shapes on the 2-core machine, so it is only a candidate."""
    path = choose_dynamic_path(B, C, H, K, T)
    if path == "chunked" and -(-T // chunk_length(min(K, 2 * T - 1), T)) < 3:
        return "band"
    return path


def dynamic_conv_cpu(x: torch.Tensor, weight: torch.Tensor, padding_l: int,
                     path: Optional[str] = None) -> torch.Tensor:
    """Dynamic convolution on the chosen path (None: :func:`choose_dynamic_path`); shapes already checked."""
    B, C, T = x.shape
    H, K = weight.shape[1], weight.shape[2]
    path = path or choose_dynamic_path(B, C, H, K, T)
    _check_path(path, DYNAMIC_PATHS)
    if path == "shift":
        return dynamic_conv_torch(x, weight, padding_l)
    if path == "band":
        return band_conv(x, weight, padding_l)
    return band_conv(x, weight, padding_l, chunk=chunk_length(min(K, 2 * T - 1), T))


def lightweight_conv_cpu(x: torch.Tensor, weight: torch.Tensor, padding_l: int,
                         path: Optional[str] = None) -> torch.Tensor:
    """Lightweight convolution (weight H x K) on the chosen path (None: :func:`choose_lightweight_path`)."""
    B, C, T = x.shape
    H, K = weight.shape
    path = path or choose_lightweight_path(B, C, H, K, T)
    _check_path(path, LIGHTWEIGHT_PATHS)
    if path != "conv1d":
        return dynamic_conv_cpu(x, weight.view(1, H, K, 1).expand(B, H, K, T), padding_l, path)
    dtype = torch.result_type(x, weight)
    per_channel = weight.to(dtype).repeat_interleave(C // H, dim=0).unsqueeze(1)  # C x 1 x K
    x = x.to(dtype)
    if 2 * padding_l == K - 1:  # centred: conv1d pads both sides itself
        return F.conv1d(x, per_channel, padding=padding_l, groups=C)
    return F.conv1d(F.pad(x, (padding_l, K - 1 - padding_l)), per_channel, groups=C)
