"""kernels.dropout: F.dropout's meaning with a cheaper random draw on the CPU (two elements per 64-bit draw)."""

import math

import pytest
import torch
import torch.nn.functional as F

from lite_fairseq import kernels
from lite_fairseq.kernels.dropout_cpu import drop_threshold
from lite_fairseq.modules import Dropout


def _dropped(seed, x, p):
    torch.manual_seed(seed)
    return kernels.dropout(x, p)


@pytest.mark.parametrize("p", [0.03, 0.1, 0.5, 0.9])
def test_each_element_is_dropped_with_probability_p_in_both_halves_of_a_draw(p):
    n = 400_000
    y = _dropped(0, torch.ones(n), p)
    sigma = math.sqrt(p * (1 - p) / (n // 2))
    for half in (y[0::2], y[1::2]):  # the low and the high 32 bits of each 64-bit draw
        assert abs((half == 0).double().mean().item() - p) < 6 * sigma


def test_neighbouring_elements_are_dropped_independently():
    n, p = 400_000, 0.5
    dropped = (_dropped(1, torch.ones(n), p) == 0).double()
    both = (dropped[0::2] * dropped[1::2]).mean().item()  # the two halves of one draw
    assert abs(both - p * p) < 6 * math.sqrt(p * p * (1 - p * p) / (n // 2))


def test_kept_elements_are_scaled_by_one_over_keep_probability_and_dropped_ones_are_zero():
    x = torch.randn(64, 33, dtype=torch.float64) + 10.0  # no zeros of its own
    y = _dropped(2, x, 0.25)
    kept = y != 0
    assert 0 < kept.sum() < x.numel()
    torch.testing.assert_close(y[kept], x[kept] * (1 / 0.75), rtol=0, atol=0)  # F.dropout's own arithmetic


def test_gradient_is_the_same_mask_and_scale():
    x = (torch.randn(7, 5, 11, dtype=torch.float64) + 10.0).requires_grad_()
    g = torch.randn(7, 5, 11, dtype=torch.float64)
    y = _dropped(3, x, 0.3)
    y.backward(g)
    torch.testing.assert_close(x.grad, torch.where(y == 0, 0.0, g / 0.7))
    assert torch.autograd.gradcheck(lambda t: _dropped(4, t, 0.3), (x.detach().clone().requires_grad_(),))


def test_the_seed_fixes_the_mask_and_another_seed_changes_it():
    x = torch.randn(1000)
    assert torch.equal(_dropped(5, x, 0.2), _dropped(5, x, 0.2))
    assert not torch.equal(_dropped(5, x, 0.2), _dropped(6, x, 0.2))


def test_a_strided_input_gets_the_mask_of_its_logical_layout():
    x = torch.randn(30, 40).t()
    assert not x.is_contiguous()
    torch.testing.assert_close(_dropped(7, x, 0.1), _dropped(7, x.contiguous(), 0.1), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtype_is_kept(dtype):
    y = _dropped(8, torch.ones(999, dtype=dtype), 0.1)
    assert y.dtype == dtype
    kept = y[y != 0].double()
    assert len(kept) > 800 and torch.allclose(kept, torch.full_like(kept, 1 / 0.9), rtol=1e-2)


def test_no_dropout_at_p_zero_or_outside_training_and_everything_at_p_one():
    x = torch.randn(10, 10)
    assert kernels.dropout(x, 0.0) is x
    assert kernels.dropout(x, 0.5, training=False) is x
    assert torch.equal(kernels.dropout(x, 1.0), torch.zeros(10, 10))


def test_odd_element_counts_and_empty_tensors():
    assert _dropped(9, torch.ones(3, 5, 7), 0.5).shape == (3, 5, 7)
    assert _dropped(9, torch.ones(0, 4), 0.5).shape == (0, 4)


def test_threshold_never_leaves_int32():
    assert drop_threshold(1 - 1e-12) == 2 ** 31 - 1
    assert drop_threshold(1e-12) == -(2 ** 31)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probability_is_named(p):
    with pytest.raises(ValueError, match="dropout probability must be in"):
        kernels.dropout(torch.ones(3), p)


def test_module_is_fairseq_dropout_in_training_eval_and_retain_dropout():
    module = Dropout(0.4, module_name="LiteEncoderLayer")
    x = torch.randn(5000) + 10.0
    torch.manual_seed(10)
    y = module(x)
    assert 0.3 < (y == 0).float().mean() < 0.5
    module.eval()
    assert module(x) is x
    module.make_generation_fast_("m", retain_dropout=True)
    assert (module(x) == 0).any()
    torch.manual_seed(11)  # in place: fairseq's F.dropout path, same distribution
    z = x.clone()
    module.train()
    module(z, inplace=True)
    assert (z == 0).any()


def test_on_the_cpu_it_replaces_bernoulli():
    # the draw is integer random_ on the CPU, not F.dropout's bernoulli_: the reason this kernel exists
    with torch.profiler.profile() as prof:
        kernels.dropout(torch.randn(100, 100), 0.1)
    names = {e.name for e in prof.events()}
    assert "aten::bernoulli_" not in names and "aten::random_" in names
    with torch.profiler.profile() as prof:
        F.dropout(torch.randn(100, 100), 0.1)
    assert "aten::bernoulli_" in {e.name for e in prof.events()}
