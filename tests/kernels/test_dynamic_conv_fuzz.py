"""Property-based shape fuzzing: the Triton kernel and the PyTorch path against the float64 reference."""

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from dynconv_reference import dynamic_conv_reference, reference_with_grads, rel_err, softmax_reference  # noqa: E402
from kernel_helpers import DEVICE, needs_triton  # noqa: E402
from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits  # noqa: E402


@st.composite
def conv_cases(draw):
    B = draw(st.integers(1, 3))
    H = draw(st.integers(1, 4))
    R = draw(st.integers(1, 9))
    K = draw(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 15, 31, 63]))
    T = draw(st.integers(1, 40))
    P = draw(st.integers(0, K - 1))
    seed = draw(st.integers(0, 2**16))
    return B, H * R, H, K, T, P, seed


def _case_tensors(case, device):
    B, C, H, K, T, P, seed = case
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, generator=g, dtype=torch.float64).to(device)
    w = torch.randn(B, H, K, T, generator=g, dtype=torch.float64).to(device)
    go = torch.randn(B, C, T, generator=g, dtype=torch.float64).to(device)
    return x, w, go, P


def _grads(fn, x, w, go):
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    out = fn(x, w)
    return [out.detach()] + list(torch.autograd.grad(out, (x, w), go))


@needs_triton
# Triton's CPU interpreter runs each example for seconds: 15 derandomized examples (both input kinds, K up to 63,
# T up to 40) keep the property; a GPU runs the same cases compiled.
@settings(max_examples=15, deadline=None, derandomize=True)
@given(conv_cases(), st.booleans())
def test_fuzz_triton(case, from_logits):
    x, w, go, P = _case_tensors(case, DEVICE)
    if from_logits:
        got = _grads(lambda a, b: dynamic_conv_from_logits(a, b, P, backend="triton"), x, w, go)
        ref_fn = lambda a, b: dynamic_conv_reference(a, softmax_reference(b), P)  # noqa: E731
    else:
        got = _grads(lambda a, b: dynamic_conv(a, b, P, backend="triton"), x, w, go)
        ref_fn = lambda a, b: dynamic_conv_reference(a, b, P)  # noqa: E731
    ref_out, ref_grads = reference_with_grads(ref_fn, [x.cpu(), w.cpu()], go.cpu())
    for a, b in zip(got, [ref_out] + list(ref_grads)):
        assert rel_err(a.cpu(), b) < 1e-12


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_cases())
def test_fuzz_torch_path(case):
    x, w, go, P = _case_tensors(case, "cpu")
    got = _grads(lambda a, b: dynamic_conv(a, b, P, backend="torch"), x, w, go)
    ref_out, ref_grads = reference_with_grads(lambda a, b: dynamic_conv_reference(a, b, P), [x, w], go)
    for a, b in zip(got, [ref_out] + list(ref_grads)):
        assert rel_err(a, b) < 1e-12
