"""torch.autograd.gradcheck in float64 on small shapes, for the Triton autograd Functions."""

import pytest
import torch

from kernel_helpers import DEVICE, needs_triton
from lite_fairseq.kernels import dynamic_conv, lightweight_conv

pytestmark = needs_triton

SMALL = [(1, 4, 2, 3, 5, 1), (2, 3, 1, 4, 3, 3), (1, 2, 2, 1, 4, 0)]


def _leaves(shape, seed):
    B, C, H, K, T, P = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, generator=g, dtype=torch.float64).to(DEVICE).requires_grad_(True)
    w = torch.randn(B, H, K, T, generator=g, dtype=torch.float64).to(DEVICE).requires_grad_(True)
    return x, w, P


@pytest.mark.parametrize("shape", SMALL)
def test_gradcheck_dynamic_conv(shape):
    x, w, P = _leaves(shape, 0)
    assert torch.autograd.gradcheck(lambda a, b: dynamic_conv(a, b, P, backend="triton"), (x, w))


@pytest.mark.parametrize("p_drop", [0.0, 0.4])
@pytest.mark.parametrize("shape", SMALL)
def test_gradcheck_from_logits(shape, p_drop):
    """With a fixed seed the DropConnect mask is a fixed function, so the backward pass (which regenerates the
    mask from the seed) must be the exact derivative of the forward."""
    from lite_fairseq.kernels.dynamic_conv_triton import dynamic_conv_from_logits_triton

    x, w, P = _leaves(shape, 1)
    fn = lambda a, b: dynamic_conv_from_logits_triton(a, b, P, p_drop, True, seed=1234)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w))


def test_gradcheck_lightweight():
    x, _, _ = _leaves((2, 4, 2, 3, 5, 1), 2)
    w = torch.randn(2, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: lightweight_conv(a, b, 1, backend="triton"), (x, w))
