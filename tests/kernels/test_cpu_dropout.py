"""kernels.dropout: F.dropout's meaning with a cheaper random draw on the CPU (four 16-bit fields per 64-bit integer,
or two 32-bit ones where 16 bits cannot resolve p)."""

import math

import pytest
import torch
import torch.nn.functional as F

from lite_fairseq import kernels
from lite_fairseq.kernels.dropout_cpu import MAX_RELATIVE_ERROR, drop_threshold, field_bits
from lite_fairseq.modules import Dropout


def _dropped(seed, x, p):
    torch.manual_seed(seed)
    return kernels.dropout(x, p)


@pytest.mark.parametrize("p,fields", [(0.03, 4), (0.1, 4), (0.5, 4), (0.9, 4), (0.001, 2), (0.9993, 2)])
def test_each_element_is_dropped_with_probability_p_in_every_field_of_an_integer(p, fields):
    assert 64 // field_bits(p) == fields
    n = 800_000
    y = _dropped(0, torch.ones(n), p)
    sigma = math.sqrt(p * (1 - p) / (n // fields))
    for k in range(fields):  # the k-th 16- or 32-bit field of each 64-bit integer
        assert abs((y[k::fields] == 0).double().mean().item() - p) < 6 * sigma


@pytest.mark.parametrize("p", [0.5, 0.9993])
def test_neighbouring_elements_are_dropped_independently(p):
    n = 800_000
    dropped = (_dropped(1, torch.ones(n), p) == 0).double()
    for a, b in ((0, 1), (1, 2), (2, 3), (3, 4)):  # fields of one integer, and the last and first of two
        both = (dropped[a::4][: n // 4 - 1] * dropped[b::4][: n // 4 - 1]).mean().item()
        assert abs(both - p * p) < 6 * math.sqrt(p * p * (1 - p * p) / (n // 4))


@pytest.mark.parametrize("p", [0.01, 0.03, 0.1, 0.3, 0.5, 0.99, 0.004, 0.001, 1e-6, 0.9993, 1 - 1e-9])
def test_sixteen_bit_fields_only_where_they_give_p_to_a_thousandth_of_itself(p):
    bits = field_bits(p)
    realised = (drop_threshold(p, bits) + 2 ** (bits - 1)) / 2 ** bits
    assert abs(realised - p) <= MAX_RELATIVE_ERROR * min(p, 1 - p) or bits == 32
    assert (bits == 16) == (p in (0.01, 0.03, 0.1, 0.3, 0.5, 0.99, 0.004))


def test_each_call_draws_a_fresh_mask_from_torchs_generator():
    torch.manual_seed(12)
    x = torch.ones(10_000)
    first, second = kernels.dropout(x, 0.3), kernels.dropout(x, 0.3)
    assert not torch.equal(first, second)  # one layer's mask is not the next layer's
    torch.manual_seed(12)
    assert torch.equal(kernels.dropout(x, 0.3), first) and torch.equal(kernels.dropout(x, 0.3), second)


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


@pytest.mark.parametrize("bits", [16, 32])
def test_threshold_never_leaves_its_field(bits):
    assert drop_threshold(1 - 1e-12, bits) == 2 ** (bits - 1) - 1
    assert drop_threshold(1e-12, bits) == -(2 ** (bits - 1))


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
    # the mask comes from numpy's PCG64, not F.dropout's bernoulli_ (nor torch's own integer draw over every
    # element): the reason this kernel exists
    with torch.profiler.profile(record_shapes=True) as prof:
        kernels.dropout(torch.randn(100, 100), 0.1)
    assert "aten::bernoulli_" not in {e.name for e in prof.events()}
    draws = [e.input_shapes[0] for e in prof.events() if e.name == "aten::random_"]
    assert draws == [[]]  # torch's generator draws one seed, not the mask
    with torch.profiler.profile() as prof:
        F.dropout(torch.randn(100, 100), 0.1)
    assert "aten::bernoulli_" in {e.name for e in prof.events()}
