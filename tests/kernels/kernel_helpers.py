"""Shared bits of the kernel tests: the device the Triton kernels run on here, and a skip when Triton is missing."""

import pytest
import torch

from lite_fairseq.kernels import triton_available

# compiled kernels on a GPU; Triton's interpreter (TRITON_INTERPRET=1, set in conftest.py) on the CPU
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

needs_triton = pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
needs_cuda = pytest.mark.gpu  # skipped without a CUDA device (tests/conftest.py)


def assert_seed_repeats(run):
    """``run()`` draws random DropConnect masks: the same torch seed repeats its output, the next draw differs."""
    torch.manual_seed(7)
    a = run()
    torch.manual_seed(7)
    b = run()
    c = run()
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def draw_conv_case(draw):
    """A random convolution case for hypothesis (wrap with ``st.composite``): B, H, R (channels per head), K, T,
    left padding, a chunk length of at least K-1 and a seed."""
    from hypothesis import strategies as st

    B, H, R = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 6))
    K = draw(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 15, 31, 63]))
    T = draw(st.integers(1, 70))
    P = draw(st.integers(0, K - 1))
    chunk = draw(st.integers(max(K - 1, 1), max(K - 1, 1) + 20))
    return B, H, R, K, T, P, chunk, draw(st.integers(0, 2**16))


# (B, H, R, K, T) of the CPU path tests: K > T (taps trimmed), K = 1, K = T, long sequences cut into several
# chunks, one time step
CPU_CONV_SHAPES = [(2, 2, 3, 3, 10), (1, 3, 2, 7, 5), (2, 1, 4, 15, 40), (1, 2, 2, 31, 7), (2, 4, 1, 1, 9),
                   (1, 1, 2, 63, 130), (1, 2, 3, 5, 1), (2, 4, 2, 4, 4)]


def conv_paddings(K):
    """Right-looking, centred and causal left padding of a K-tap kernel."""
    return sorted({0, (K - 1) // 2, K - 1})


def conv_tensors(B, H, R, K, T, seed=0, zero_tail=0, zero_weight_tail=False):
    """float64 x (B x HR x T), kernel (B x H x K x T) and output gradient; ``zero_tail`` zeroes the first sequence's
    last positions of x (as a padding mask leaves them), and of the kernel too with ``zero_weight_tail``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, H * R, T, generator=g, dtype=torch.float64)
    w = torch.randn(B, H, K, T, generator=g, dtype=torch.float64)
    if zero_tail:
        x[0, :, T - zero_tail:] = 0
        if zero_weight_tail:
            w[0, :, :, T - zero_tail:] = 0
    go = torch.randn(B, H * R, T, generator=g, dtype=torch.float64)
    return x, w, go


def value_and_grads(fn, x, w, go):
    """fn(x, w)'s output and its gradients to x and w for the output gradient ``go``."""
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    out = fn(x, w)
    return [out.detach()] + list(torch.autograd.grad(out, (x, w), go))


def assert_matches_reference(fn, x, w, go, ref_fn, tol=1e-12):
    """fn against the float64 reference ``ref_fn`` in output and both gradients."""
    from dynconv_reference import reference_with_grads, rel_err

    got = value_and_grads(fn, x, w, go)
    ref_out, ref_grads = reference_with_grads(ref_fn, [x, w], go)
    for name, a, b in zip(("output", "grad x", "grad weight"), got, [ref_out] + list(ref_grads)):
        assert rel_err(a, b) < tol, name
