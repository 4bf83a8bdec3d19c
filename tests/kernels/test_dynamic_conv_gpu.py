"""On a CUDA GPU: half-precision inputs and the paper's large shapes, forward and backward, against float64."""

import pytest
import torch

from dynconv_reference import dynamic_conv_reference, rel_err, softmax_reference
from kernel_helpers import needs_cuda, needs_triton
from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits, lightweight_conv

pytestmark = [needs_cuda, needs_triton]

# (B, C, H, K, T, padding_l): the paper's translation shapes (about 4096 tokens) and the LM's K=63
LARGE = [(128, 248, 4, 3, 32, 1), (128, 248, 4, 31, 32, 30), (8, 448, 4, 63, 512, 62), (8, 448, 4, 63, 512, 31),
         (3, 1024, 1, 15, 257, 7)]
TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.5e-2}


def _run(shape, dtype, from_logits):
    B, C, H, K, T, P = shape
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(B, C, T, device="cuda", generator=g)
    w = torch.randn(B, H, K, T, device="cuda", generator=g)
    go = torch.randn(B, C, T, device="cuda", generator=g)
    if not from_logits:
        w = softmax_reference(w).float()
    xd, wd = x.double().requires_grad_(True), w.double().requires_grad_(True)
    ref_w = softmax_reference(wd) if from_logits else wd
    ref = dynamic_conv_reference(xd, ref_w, P)
    ref_gx, ref_gw = torch.autograd.grad(ref, (xd, wd), go.double())
    xl, wl = x.to(dtype).requires_grad_(True), w.to(dtype).requires_grad_(True)
    if from_logits:
        out = dynamic_conv_from_logits(xl, wl, P, 0.1, False, backend="triton")
    else:
        out = dynamic_conv(xl, wl, P, backend="triton")
    gx, gw = torch.autograd.grad(out, (xl, wl), go.to(dtype))
    assert out.dtype == gx.dtype == gw.dtype == dtype
    # the low-precision inputs are themselves rounded; compare against the reference of the rounded inputs
    tol = TOL[dtype]
    assert rel_err(out, ref) < tol
    assert rel_err(gx, ref_gx) < tol
    assert rel_err(gw, ref_gw) < tol


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("from_logits", [False, True], ids=["weights", "logits"])
@pytest.mark.parametrize("shape", LARGE, ids=lambda s: "B{}C{}H{}K{}T{}P{}".format(*s))
def test_large_shapes_low_precision(shape, dtype, from_logits):
    _run(shape, dtype, from_logits)


def test_auto_backend_uses_the_kernel_on_cuda():
    """On CUDA tensors "auto" is the fused kernel: with DropConnect in training its output is bit-identical to
    backend="triton" under the same seed (the kernel draws its Philox seed from torch's generator; the PyTorch path
    draws a different mask), and in eval it matches the float64 reference."""
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(2, 8, 10, device="cuda", generator=g)
    logits = torch.randn(2, 2, 3, 10, device="cuda", generator=g)
    outs = {}
    for backend in ("auto", "triton", "torch"):
        torch.manual_seed(3)
        outs[backend] = dynamic_conv_from_logits(x, logits, 1, 0.5, True, backend=backend)
    assert torch.equal(outs["auto"], outs["triton"])
    assert not torch.equal(outs["auto"], outs["torch"])
    ref = dynamic_conv_reference(x.double(), softmax_reference(logits.double()), 1)
    assert rel_err(dynamic_conv_from_logits(x, logits, 1, backend="auto"), ref) < 1e-5


def test_lightweight_on_gpu_half():
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(16, 64, 100, device="cuda", generator=g).half().requires_grad_(True)
    w = torch.softmax(torch.randn(4, 7, device="cuda", generator=g), dim=1).half().requires_grad_(True)
    go = torch.randn(16, 64, 100, device="cuda", generator=g)
    out = lightweight_conv(x, w, 3, backend="triton")
    xd, wd = x.detach().double().requires_grad_(True), w.detach().double().requires_grad_(True)
    ref = lightweight_conv(xd, wd, 3, backend="torch")
    assert rel_err(out, ref) < 2e-3
    gx, gw = torch.autograd.grad(out, (x, w), go.half())
    ref_gx, ref_gw = torch.autograd.grad(ref, (xd, wd), go.double())
    assert gx.dtype == gw.dtype == torch.float16
    assert rel_err(gx, ref_gx) < 2e-3
    assert rel_err(gw, ref_gw) < 2e-3
