"""Independent float64 reference for dynamic convolution: explicit unfold into B x C x T x K windows.

Deliberately built differently from lite_fairseq.kernels.dynamic_conv_torch (shift-and-add) and from the
Triton kernels (per-tap tiles), and only for small test shapes, since it materialises the unfolded input.
"""

import torch


def dynamic_conv_reference(x: torch.Tensor, weight: torch.Tensor, padding_l: int) -> torch.Tensor:
    """out[b, c, t] = sum_k weight[b, c // (C // H), k, t] * x[b, c, t + k - padding_l], zeros outside [0, T)."""
    x = x.double()
    weight = weight.double()
    B, C, T = x.shape
    H, K = weight.shape[1], weight.shape[2]
    padded = x.new_zeros(B, C, T + K - 1)
    padded[:, :, padding_l : padding_l + T] = x
    windows = padded.unfold(2, K, 1)  # B x C x T x K, windows[b, c, t, k] = x[b, c, t + k - padding_l]
    per_channel = weight.repeat_interleave(C // H, dim=1)  # B x C x K x T
    return torch.einsum("bctk,bckt->bct", windows, per_channel)


def softmax_reference(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the taps (dim 2) in float64, written out by hand."""
    z = logits.double()
    e = torch.exp(z - z.max(dim=2, keepdim=True).values)
    return e / e.sum(dim=2, keepdim=True)


def reference_with_grads(fn, inputs, grad_out):
    """fn on float64 copies of inputs; returns (out, grads) in float64."""
    leaves = [t.detach().double().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, grad_out.double())
    return out.detach(), grads


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| in float64 (0 when both are zero); NaN never passes a tolerance test."""
    a = a.detach().double()
    b = b.detach().double()
    denom = b.norm().item()
    num = (a - b).norm().item()
    if denom == 0.0:
        return num
    return num / denom
