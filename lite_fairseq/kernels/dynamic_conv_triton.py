"""Fused dynamic convolution in Triton, with autograd.

Same layout and meaning as :mod:`lite_fairseq.kernels.dynamic_conv_torch` (fairseq's ``dynamicconv_cuda``):
``out[b, c, t] = sum_k w[b, h(c), k, t] * x[b, c, t + k - padding_l]``, x ``B x C x T``, w ``B x H x K x T``.

Each program owns one (batch, head), a block of that head's channels and a block of time steps; it walks the K
taps, reading one row of kernel weights and one shifted tile of ``x`` per tap (the re-reads of neighbouring
time steps hit the cache), and accumulates in float32 (float64 for float64 inputs). No ``B x C x K x T``
tensor is ever built. Three kernels (``@triton.jit`` functions launched from the host; ``_weight_row``, ``_tile``
and ``_time_block`` are helpers they inline):

* the convolution, run twice: forward (optionally from raw logits: softmax over the taps and DropConnect are
  computed in the kernel; the per-time-step log-sum-exp is written out, ``B x H x T``, so the backward pass can
  rebuild the weights), and transposed for the backward pass to the input (the output gradient convolved with
  the same weights),
* backward to the weights: per tap, a reduction over the head's channels of ``grad_out * shifted x``; the
  channels are split into chunks written to a float32 buffer ``chunks x B x H x K x T`` that is summed after,
  so the result is deterministic (no atomics),
* and, for the logits variant, the softmax/DropConnect backward over the taps.

Symbols used below:

* ``B``: batch size; ``C``: channels; ``T``: time steps (sequence length);
* ``H``: heads, one kernel per (batch, head, time step) shared by the head's ``R = C // H`` channels;
* ``K``: kernel size (taps), at most ``MAX_KERNEL_SIZE``; ``K_PAD``: K rounded up to a power of two (Triton
  tiles have power-of-two sizes; the extra taps are masked);
* ``padding_l`` (``P`` in the kernels): taps to the left of the current step, so tap k reads ``x[t + k - P]``;
  ``P = K - 1`` is causal, ``P = (K - 1) // 2`` centred;
* ``BLOCK_C`` / ``BLOCK_T``: the channels (of one head) and time steps one program handles, powers of two
  picked by ``_blocks``; ``ACC``: the accumulation dtype; ``FROM_LOGITS`` / ``DROPOUT``: compile-time switches
  for the softmax over the taps and DropConnect; ``s*_b``/``s*_c``/``s*_t``...: element strides of each tensor.

DropConnect draws its mask with Triton's counter-based generator (Philox) keyed by a seed and the flat index
into ``B x H x K x T``; the backward pass regenerates the same mask from the saved seed instead of storing it.
Weight strides are honoured, so an expanded (stride-0) ``H x K`` weight gives lightweight convolution.

This module imports Triton at import time; :mod:`lite_fairseq.kernels` imports it only when the Triton
backend is asked for, so everything else works where Triton is missing.
"""

from typing import Optional, Tuple

import torch
import triton
import triton.language as tl

_SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
MAX_KERNEL_SIZE = 63
# Philox offsets and program ids are 32-bit
_MAX_WEIGHT_ELEMENTS = 2**31 - 1


@triton.jit
def _weight_row(w_base, lse_row, k, t, t_ok, sw_k, sw_t, seed, rng_base, T, p_drop, scale,
                FROM_LOGITS: tl.constexpr, DROPOUT: tl.constexpr, ACC: tl.constexpr):
    """One tap of the effective kernel weights at time steps ``t`` (zeros where ``t_ok`` is false)."""
    w = tl.load(w_base + k * sw_k + t * sw_t, mask=t_ok, other=0.0).to(ACC)
    if FROM_LOGITS:
        w = tl.where(t_ok, tl.exp(w - lse_row), 0.0)
    if DROPOUT:
        rnd = tl.rand(seed, rng_base + k * T + t)
        w = tl.where(rnd >= p_drop, w * scale, 0.0)
    return w


@triton.jit
def _time_block(H, T, BLOCK_T: tl.constexpr):
    """The time steps a program owns: grid axis 0 is the (batch, head) pair, axis 1 a block of BLOCK_T time
    steps. Returns (pid_bh, b, h, t, t_ok)."""
    pid_bh = tl.program_id(0)
    t = tl.program_id(1) * BLOCK_T + tl.arange(0, BLOCK_T)
    return pid_bh, pid_bh // H, pid_bh % H, t, t < T


@triton.jit
def _tile(H, R, T, BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr):
    """The tile a program owns: :func:`_time_block`'s time steps of one (batch, head), and grid axis 2 a block of
    BLOCK_C of the head's R channels. Returns (pid_bh, pid_c, b, h, t, t_ok, c, c_ok)."""
    pid_bh, b, h, t, t_ok = _time_block(H, T, BLOCK_T)
    pid_c = tl.program_id(2)
    r = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    c = (h * R + r).to(tl.int64)
    c_ok = r < R
    return pid_bh, pid_c, b, h, t, t_ok, c, c_ok


@triton.jit
def _dynconv_kernel(
    x_ptr, w_ptr, out_ptr, lse_ptr, seed,
    T, H, R, K, P, p_drop, scale,
    sx_b, sx_c, sx_t, sw_b, sw_h, sw_k, sw_t, so_b, so_c, so_t,
    TRANSPOSED: tl.constexpr, FROM_LOGITS: tl.constexpr, DROPOUT: tl.constexpr, ACC: tl.constexpr,
    K_PAD: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr,
):
    """The convolution (TRANSPOSED false): out[b, c, t] = sum_k w[b, h, k, t] * x[b, c, t + k - P]; from logits
    it also writes the per-time-step log-sum-exp to ``lse_ptr``. The transposed convolution (the backward pass to
    the input, ``x`` being the output gradient): out[b, c, s] = sum_k w[b, h, k, s - k + P] * x[b, c, s - k + P],
    with the weights rebuilt from the saved log-sum-exp."""
    pid_bh, pid_c, b, h, t, t_ok, c, c_ok = _tile(H, R, T, BLOCK_C, BLOCK_T)
    x_base = x_ptr + b.to(tl.int64) * sx_b + c[:, None] * sx_c
    w_base = w_ptr + b.to(tl.int64) * sw_b + h.to(tl.int64) * sw_h
    lse_base = lse_ptr + pid_bh.to(tl.int64) * T
    rng_base = pid_bh * K * T

    lse = tl.zeros([BLOCK_T], dtype=ACC)
    if FROM_LOGITS:
        if not TRANSPOSED:
            kk = tl.arange(0, K_PAD)
            tile = tl.load(w_base + kk[:, None] * sw_k + t[None, :] * sw_t,
                           mask=(kk[:, None] < K) & t_ok[None, :], other=float("-inf")).to(ACC)
            m = tl.where(t_ok, tl.max(tile, axis=0), 0.0)
            denom = tl.sum(tl.exp(tile - m[None, :]), axis=0)
            lse = tl.where(t_ok, m + tl.log(tl.where(t_ok, denom, 1.0)), 0.0)
            if pid_c == 0:
                tl.store(lse_base + t, lse, mask=t_ok)

    acc = tl.zeros([BLOCK_C, BLOCK_T], dtype=ACC)
    for k in range(0, K):
        if TRANSPOSED:  # the weights and the input both at the output step that read x[s]
            tx = t - k + P
            tx_ok = (tx >= 0) & (tx < T)
            lse_row = lse
            if FROM_LOGITS:
                lse_row = tl.load(lse_base + tx, mask=tx_ok, other=0.0)
            w = _weight_row(w_base, lse_row, k, tx, tx_ok, sw_k, sw_t, seed, rng_base, T, p_drop, scale,
                            FROM_LOGITS, DROPOUT, ACC)
        else:
            tx = t + (k - P)
            tx_ok = (tx >= 0) & (tx < T)
            w = _weight_row(w_base, lse, k, t, t_ok, sw_k, sw_t, seed, rng_base, T, p_drop, scale,
                            FROM_LOGITS, DROPOUT, ACC)
        xv = tl.load(x_base + tx[None, :] * sx_t, mask=c_ok[:, None] & tx_ok[None, :], other=0.0).to(ACC)
        acc += xv * w[None, :]
    out_off = b.to(tl.int64) * so_b + c[:, None] * so_c + t[None, :] * so_t
    tl.store(out_ptr + out_off, acc.to(out_ptr.dtype.element_ty), mask=c_ok[:, None] & t_ok[None, :])


@triton.jit
def _dynconv_bwd_weight_kernel(
    g_ptr, x_ptr, gw_ptr,
    T, H, R, K, P, chunk_stride,
    sg_b, sg_c, sg_t, sx_b, sx_c, sx_t,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr,
):
    """Partial grad_w[chunk, b, h, k, t] = sum over this chunk's channels of grad_out[b, c, t] * x[b, c, t+k-P]."""
    pid_bh, pid_c, b, h, t, t_ok, c, c_ok = _tile(H, R, T, BLOCK_C, BLOCK_T)
    gv = tl.load(g_ptr + b.to(tl.int64) * sg_b + c[:, None] * sg_c + t[None, :] * sg_t,
                 mask=c_ok[:, None] & t_ok[None, :], other=0.0).to(ACC)
    x_base = x_ptr + b.to(tl.int64) * sx_b + c[:, None] * sx_c
    gw_base = gw_ptr + pid_c.to(tl.int64) * chunk_stride + pid_bh.to(tl.int64) * K * T
    for k in range(0, K):
        ts = t + (k - P)
        x_ok = c_ok[:, None] & ((ts >= 0) & (ts < T))[None, :]
        xv = tl.load(x_base + ts[None, :] * sx_t, mask=x_ok, other=0.0).to(ACC)
        tl.store(gw_base + k * T + t, tl.sum(gv * xv, axis=0), mask=t_ok)


@triton.jit
def _softmax_dropout_bwd_kernel(
    gw_ptr, logits_ptr, lse_ptr, gl_ptr, seed,
    T, H, K, n_chunks, chunk_stride, p_drop, scale,
    sl_b, sl_h, sl_k, sl_t,
    DROPOUT: tl.constexpr, ACC: tl.constexpr, K_PAD: tl.constexpr, BLOCK_T: tl.constexpr,
):
    """grad_logits = s * (g_s - sum_k s * g_s), with s = softmax(logits) and g_s the gradient reaching s
    through DropConnect (mask / (1 - p)). Sums the channel-chunk partials of the weight gradient first."""
    pid_bh, b, h, t, t_ok = _time_block(H, T, BLOCK_T)
    kk = tl.arange(0, K_PAD)
    ok = (kk[:, None] < K) & t_ok[None, :]
    flat = kk[:, None] * T + t[None, :]
    gw_base = gw_ptr + pid_bh.to(tl.int64) * K * T
    g = tl.zeros([K_PAD, BLOCK_T], dtype=ACC)
    for ch in range(0, n_chunks):
        g += tl.load(gw_base + ch * chunk_stride + flat, mask=ok, other=0.0).to(ACC)
    l_off = b.to(tl.int64) * sl_b + h.to(tl.int64) * sl_h + kk[:, None] * sl_k + t[None, :] * sl_t
    lg = tl.load(logits_ptr + l_off, mask=ok, other=0.0).to(ACC)
    lse = tl.load(lse_ptr + pid_bh.to(tl.int64) * T + t, mask=t_ok, other=0.0)
    sm = tl.where(ok, tl.exp(lg - lse[None, :]), 0.0)
    if DROPOUT:
        rnd = tl.rand(seed, pid_bh * K * T + flat)
        g = tl.where(rnd >= p_drop, g * scale, 0.0)
    dot = tl.sum(sm * g, axis=0)
    gl = sm * (g - dot[None, :])
    gl_off = pid_bh.to(tl.int64) * K * T + flat
    tl.store(gl_ptr + gl_off, gl.to(gl_ptr.dtype.element_ty), mask=ok)


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _blocks(R: int, T: int, max_c: int, tile: int) -> Tuple[int, int]:
    block_c = min(_next_pow2(R), max_c)
    block_t = max(16, min(_next_pow2(T), tile // block_c, 128))
    return block_c, block_t


def _dropout_scale(p_drop: float) -> float:
    # p == 1 drops every tap (the mask test rnd >= 1 never passes); the scale is then irrelevant
    return 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0


def _acc_dtype(dtype: torch.dtype):
    return tl.float64 if dtype == torch.float64 else tl.float32


def _num_warps(block_c: int, block_t: int) -> int:
    return 8 if block_c * block_t >= 8192 else 4


def check_triton_inputs(x: torch.Tensor, weight: torch.Tensor, padding_l: int) -> None:
    """Errors for what the shape check does not cover: dtypes, devices, the kernel-size limit."""
    if x.dtype not in _SUPPORTED_DTYPES:
        raise ValueError(f"dynamic_conv (triton): unsupported dtype {x.dtype}; use float16, bfloat16, float32 "
                         "or float64")
    if weight.dtype != x.dtype:
        raise ValueError(f"dynamic_conv (triton): weight dtype {weight.dtype} differs from x dtype {x.dtype}")
    if weight.device != x.device:
        raise ValueError(f"dynamic_conv (triton): weight on {weight.device} but x on {x.device}")
    K = weight.shape[2]
    if K > MAX_KERNEL_SIZE:
        raise ValueError(f"dynamic_conv (triton): kernel size K={K} is over the supported {MAX_KERNEL_SIZE}")
    B, H, _, T = weight.shape
    if B * H * K * T > _MAX_WEIGHT_ELEMENTS:
        raise ValueError("dynamic_conv (triton): B*H*K*T must stay under 2**31 elements")


def _forward(x, w, padding_l, from_logits, p_drop, seed):
    B, C, T = x.shape
    H, K = w.shape[1], w.shape[2]
    R = C // H
    out = torch.empty((B, C, T), dtype=x.dtype, device=x.device)
    acc_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    lse = torch.empty((B, H, T) if from_logits else (1,), dtype=acc_dtype, device=x.device)
    if T == 0 or B == 0:
        return out, lse
    block_c, block_t = _blocks(R, T, 128, 4096)
    grid = (B * H, triton.cdiv(T, block_t), triton.cdiv(R, block_c))
    _dynconv_kernel[grid](
        x, w, out, lse, seed,
        T, H, R, K, padding_l, float(p_drop), _dropout_scale(p_drop),
        *x.stride(), *w.stride(), *out.stride(),
        TRANSPOSED=False, FROM_LOGITS=from_logits, DROPOUT=p_drop > 0, ACC=_acc_dtype(x.dtype),
        K_PAD=_next_pow2(K), BLOCK_C=block_c, BLOCK_T=block_t, num_warps=_num_warps(block_c, block_t),
    )
    return out, lse


def _backward(grad_out, x, w, lse, padding_l, from_logits, p_drop, seed, need_x, need_w):
    B, C, T = x.shape
    H, K = w.shape[1], w.shape[2]
    R = C // H
    acc = _acc_dtype(x.dtype)
    scale = _dropout_scale(p_drop)
    grad_x = grad_w = None
    if need_x:
        grad_x = torch.empty((B, C, T), dtype=x.dtype, device=x.device)
        block_c, block_t = _blocks(R, T, 128, 4096)
        grid = (B * H, triton.cdiv(T, block_t), triton.cdiv(R, block_c))
        _dynconv_kernel[grid](
            grad_out, w, grad_x, lse, seed,
            T, H, R, K, padding_l, float(p_drop), scale,
            *grad_out.stride(), *w.stride(), *grad_x.stride(),
            TRANSPOSED=True, FROM_LOGITS=from_logits, DROPOUT=p_drop > 0, ACC=acc,
            K_PAD=_next_pow2(K), BLOCK_C=block_c, BLOCK_T=block_t, num_warps=_num_warps(block_c, block_t),
        )
    if need_w:
        block_c, block_t = _blocks(R, T, 128, 4096)
        n_chunks = triton.cdiv(R, block_c)
        part_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        partial = torch.empty((n_chunks, B, H, K, T), dtype=part_dtype, device=x.device)
        grid = (B * H, triton.cdiv(T, block_t), n_chunks)
        _dynconv_bwd_weight_kernel[grid](
            grad_out, x, partial,
            T, H, R, K, padding_l, B * H * K * T,
            *grad_out.stride(), *x.stride(),
            ACC=acc, BLOCK_C=block_c, BLOCK_T=block_t, num_warps=_num_warps(block_c, block_t),
        )
        if from_logits:
            grad_w = torch.empty((B, H, K, T), dtype=w.dtype, device=w.device)
            k_pad = _next_pow2(K)
            block_t2 = max(16, min(_next_pow2(T), 4096 // k_pad, 128))
            _softmax_dropout_bwd_kernel[(B * H, triton.cdiv(T, block_t2))](
                partial, w, lse, grad_w, seed,
                T, H, K, n_chunks, B * H * K * T, float(p_drop), scale,
                *w.stride(),
                DROPOUT=p_drop > 0, ACC=acc, K_PAD=k_pad, BLOCK_T=block_t2, num_warps=4,
            )
        else:
            summed = partial[0] if n_chunks == 1 else partial.sum(0)
            grad_w = summed.to(w.dtype)
    return grad_x, grad_w


class DynamicConvFunction(torch.autograd.Function):
    """Autograd wrapper of the Triton kernels for already-normalised weights."""

    @staticmethod
    def forward(ctx, x, weight, padding_l):
        out, lse = _forward(x, weight, padding_l, False, 0.0, 0)
        ctx.save_for_backward(x, weight, lse)
        ctx.padding_l = padding_l
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, lse = ctx.saved_tensors
        grad_x, grad_w = _backward(grad_out, x, weight, lse, ctx.padding_l, False, 0.0, 0,
                                   ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        return grad_x, grad_w, None


class DynamicConvFromLogitsFunction(torch.autograd.Function):
    """Autograd wrapper of the Triton kernels that take raw logits (softmax + DropConnect fused)."""

    @staticmethod
    def forward(ctx, x, logits, padding_l, p_drop, seed):
        out, lse = _forward(x, logits, padding_l, True, p_drop, seed)
        ctx.save_for_backward(x, logits, lse)
        ctx.padding_l, ctx.p_drop, ctx.seed = padding_l, p_drop, seed
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, logits, lse = ctx.saved_tensors
        grad_x, grad_l = _backward(grad_out, x, logits, lse, ctx.padding_l, True, ctx.p_drop, ctx.seed,
                                   ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        return grad_x, grad_l, None, None, None


def dynamic_conv_triton(x: torch.Tensor, weight: torch.Tensor, padding_l: int) -> torch.Tensor:
    """Dynamic convolution through the Triton kernel; x B x C x T, weight B x H x K x T (normalised).
    Shapes must already have passed :func:`check_dynamic_conv_shapes`."""
    check_triton_inputs(x, weight, padding_l)
    return DynamicConvFunction.apply(x, weight, padding_l)


def dynamic_conv_from_logits_triton(x: torch.Tensor, logits: torch.Tensor, padding_l: int,
                                    weight_dropout: float = 0.0, training: bool = False,
                                    seed: Optional[int] = None) -> torch.Tensor:
    """Softmax over the taps, DropConnect (when training and ``weight_dropout > 0``) and the convolution, all
    in the kernel. ``seed`` fixes the dropout mask (tests); by default it is drawn from torch's CPU generator,
    so ``torch.manual_seed`` makes runs repeatable."""
    check_triton_inputs(x, logits, padding_l)
    if not 0.0 <= weight_dropout <= 1.0:
        raise ValueError(f"dynamic_conv_from_logits: weight_dropout must be in [0, 1], got {weight_dropout}")
    p = float(weight_dropout) if training else 0.0
    if p > 0 and seed is None:
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    return DynamicConvFromLogitsFunction.apply(x, logits, padding_l, p, int(seed or 0))
