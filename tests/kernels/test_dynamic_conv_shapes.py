"""Forward and both gradients of every backend against the independent float64 reference, on many shapes."""

import pytest
import torch

from dynconv_reference import dynamic_conv_reference, reference_with_grads, rel_err, softmax_reference
from kernel_helpers import DEVICE, needs_triton
from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits, dynamic_conv_torch, lightweight_conv

# (B, C, H, K, T, padding_l): K=1, K=63, T<K, T=1 (one incremental step), H=1, H=C, head widths that are not
# powers of two, a head wider than one channel block (R=300: several channel chunks), centred/causal/left-edge
SHAPES = [
    (2, 8, 2, 1, 9, 0),
    (2, 8, 2, 3, 9, 1),
    (1, 6, 3, 7, 20, 6),
    (3, 12, 4, 7, 5, 3),  # T < K, centred
    (2, 4, 4, 15, 4, 14),  # T < K, causal, R = 1
    (1, 10, 1, 5, 17, 0),  # H = 1, padding 0 (looks only ahead)
    (2, 62, 2, 31, 40, 15),  # R = 31
    (1, 8, 2, 63, 70, 31),  # K = 63, centred
    (1, 8, 4, 63, 10, 62),  # K = 63, causal, T < K
    (1, 300, 1, 3, 6, 2),  # R = 300 > one channel block
    (2, 16, 4, 31, 1, 30),  # T = 1: a single causal step
    (1, 8, 2, 4, 11, 1),  # even K, off-centre
]


def _ids(shape):
    return "B{}C{}H{}K{}T{}P{}".format(*shape)


def _inputs(shape, dtype, device, seed):
    B, C, H, K, T, P = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, generator=g, dtype=torch.float64)
    w = torch.randn(B, H, K, T, generator=g, dtype=torch.float64)
    grad_out = torch.randn(B, C, T, generator=g, dtype=torch.float64)
    return x.to(device, dtype), w.to(device, dtype), grad_out.to(device, dtype), P


def _check(fn, ref_fn, inputs, grad_out, tol):
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, grad_out)
    ref_out, ref_grads = reference_with_grads(ref_fn, [t.cpu() for t in inputs], grad_out.cpu())
    assert out.shape == ref_out.shape and out.dtype == inputs[0].dtype
    assert rel_err(out.cpu(), ref_out) < tol
    for g, rg in zip(grads, ref_grads):
        assert g.shape == rg.shape
        assert rel_err(g.cpu(), rg) < tol


@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_torch_path_matches_reference(shape):
    x, w, go, P = _inputs(shape, torch.float64, "cpu", 0)
    _check(lambda a, b: dynamic_conv_torch(a, b, P), lambda a, b: dynamic_conv_reference(a, b, P), [x, w], go, 1e-12)


@needs_triton
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_triton_matches_reference(shape, dtype, tol):
    x, w, go, P = _inputs(shape, dtype, DEVICE, 1)
    _check(lambda a, b: dynamic_conv(a, b, P, backend="triton"), lambda a, b: dynamic_conv_reference(a, b, P),
           [x, w], go, tol)


def _logits_reference(P):
    return lambda a, b: dynamic_conv_reference(a, softmax_reference(b), P)


@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_torch_from_logits_matches_reference(shape):
    # the PyTorch path takes its softmax in float32 (like fairseq), so float32 tolerance even for float64 inputs
    x, w, go, P = _inputs(shape, torch.float64, "cpu", 2)
    _check(lambda a, b: dynamic_conv_from_logits(a, b, P, backend="torch"), _logits_reference(P), [x, w], go, 1e-5)


@needs_triton
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_triton_from_logits_matches_reference(shape, dtype, tol):
    x, w, go, P = _inputs(shape, dtype, DEVICE, 3)
    w = w * 3  # spread the logits so the softmax is far from uniform
    _check(lambda a, b: dynamic_conv_from_logits(a, b, P, 0.3, False, backend="triton"), _logits_reference(P),
           [x, w], go, tol)


def _lightweight_reference(P):
    def ref(a, b):
        B, _, T = a.shape
        return dynamic_conv_reference(a, b.unsqueeze(0).unsqueeze(-1).expand(B, -1, -1, T), P)

    return ref


@pytest.mark.parametrize("backend,dtype,tol", [("torch", torch.float64, 1e-12),
                                               pytest.param("triton", torch.float64, 1e-12, marks=needs_triton),
                                               pytest.param("triton", torch.float32, 1e-5, marks=needs_triton)])
@pytest.mark.parametrize("shape", SHAPES[:9], ids=_ids)
def test_lightweight_matches_reference(shape, backend, dtype, tol):
    B, C, H, K, T, P = shape
    device = "cpu" if backend == "torch" else DEVICE
    x, _, go, _ = _inputs(shape, dtype, device, 4)
    w = torch.randn(H, K, generator=torch.Generator().manual_seed(5), dtype=torch.float64).to(device, dtype)
    _check(lambda a, b: lightweight_conv(a, b, P, backend=backend), _lightweight_reference(P), [x, w], go, tol)


@needs_triton
def test_triton_accepts_strided_inputs():
    """A time-major (T x B x C) input permuted to B x C x T, and logits permuted from T x B x H x K, run
    without copies and give the same result as contiguous tensors."""
    B, C, H, K, T, P = 2, 12, 3, 5, 9, 2
    g = torch.Generator().manual_seed(6)
    x_tbc = torch.randn(T, B, C, generator=g, dtype=torch.float64).to(DEVICE)
    l_tbhk = torch.randn(T, B, H, K, generator=g, dtype=torch.float64).to(DEVICE)
    x = x_tbc.permute(1, 2, 0)
    logits = l_tbhk.permute(1, 2, 3, 0)
    out = dynamic_conv_from_logits(x, logits, P, backend="triton")
    ref = dynamic_conv_reference(x.cpu(), softmax_reference(logits.cpu()), P)
    assert rel_err(out.cpu(), ref) < 1e-12
