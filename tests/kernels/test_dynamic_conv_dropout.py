"""DropConnect inside the fused kernel: a valid dropout of the normalised weights."""

import pytest
import torch

from dynconv_reference import dynamic_conv_reference, rel_err, softmax_reference
from kernel_helpers import DEVICE, assert_seed_repeats, needs_triton
from lite_fairseq.kernels import dynamic_conv_from_logits

pytestmark = needs_triton


def _data(B, C, H, K, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, generator=g, dtype=torch.float64).to(DEVICE)
    logits = torch.randn(B, H, K, T, generator=g, dtype=torch.float64).to(DEVICE)
    return x, logits


def test_p_zero_in_training_equals_eval():
    x, logits = _data(2, 8, 2, 5, 12)
    train = dynamic_conv_from_logits(x, logits, 2, 0.0, True, backend="triton")
    evaluation = dynamic_conv_from_logits(x, logits, 2, 0.7, False, backend="triton")
    ref = dynamic_conv_reference(x.cpu(), softmax_reference(logits.cpu()), 2)
    assert rel_err(train.cpu(), ref) < 1e-12
    assert rel_err(evaluation.cpu(), ref) < 1e-12


def test_single_tap_gives_exact_dropout_values():
    """With K=1 the softmax weight is 1, so each (b, head, t) is either dropped (0) or x / (1 - p) for every
    channel of that head; the kept fraction is about 1 - p."""
    B, C, H, T, p = 4, 6, 3, 200, 0.3
    x, logits = _data(B, C, H, 1, T, 1)
    out = dynamic_conv_from_logits(x, logits, 0, p, True, backend="triton").cpu()
    kept = out.abs() > 0
    # rtol 1e-6: compiled Triton passes the Python float scale 1/(1-p) to the kernel as float32
    assert torch.allclose(out[kept], (x.cpu() / (1 - p))[kept], rtol=1e-6, atol=0)
    per_head = kept.view(B, H, C // H, T)
    assert (per_head == per_head[:, :, :1, :]).all(), "the mask must be shared by the channels of a head"
    frac = per_head[:, :, 0, :].double().mean().item()
    assert abs(frac - (1 - p)) < 0.04  # 2400 Bernoulli draws: sd ~ 0.01


def test_high_dropout_mostly_zero():
    x, logits = _data(2, 4, 2, 3, 100)
    out = dynamic_conv_from_logits(x, logits, 1, 0.995, True, backend="triton")
    assert (out == 0).double().mean().item() > 0.95
    full = dynamic_conv_from_logits(x, logits, 1, 1.0, True, backend="triton")
    assert (full == 0).all()


def test_expectation_matches_deterministic_output():
    """Every batch row carries the same x and logits but draws its own mask: the mean over rows converges to
    the output without dropout. x is positive so no cancellation inflates the relative noise, which is then at
    most sqrt(p / (1 - p) / B) = 0.0625 (one dominant tap) and about 0.03 here; the seed is fixed."""
    B, C, H, K, T, p = 256, 2, 1, 5, 6, 0.5
    x1, l1 = _data(1, C, H, K, T, 2)
    x1 = x1.abs() + 0.5
    x, logits = x1.expand(B, C, T), l1.expand(B, H, K, T)
    torch.manual_seed(0)
    out = dynamic_conv_from_logits(x, logits, 2, p, True, backend="triton")
    det = dynamic_conv_reference(x1.cpu(), softmax_reference(l1.cpu()), 2)[0]
    assert rel_err(out.mean(0).cpu(), det) < 0.15
    assert not torch.allclose(out[0], out[1]), "batch rows must draw different masks"


def test_seed_from_torch_generator_repeats():
    x, logits = _data(1, 4, 2, 3, 20)
    assert_seed_repeats(lambda: dynamic_conv_from_logits(x, logits, 1, 0.5, True, backend="triton"))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_dropout_probability(p):
    x, logits = _data(1, 4, 2, 3, 5)
    with pytest.raises(ValueError, match="weight_dropout"):
        dynamic_conv_from_logits(x, logits, 1, p, True, backend="triton")
