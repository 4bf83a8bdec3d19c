# ruff: noqa: B023 -- each closure is called inside the loop iteration that defines it
"""The CPU paths from kernel logits (kernels.conv_cpu_logits: softmax, DropConnect and band product fused) against
the float64 reference in value and gradient, and their DropConnect as a valid dropout of the normalised taps."""

import pytest
import torch

from dynconv_reference import dynamic_conv_reference, rel_err, softmax_reference
from kernel_helpers import (CPU_CONV_SHAPES, assert_matches_reference, assert_seed_repeats, conv_paddings, conv_tensors,
                            draw_conv_case)
from lite_fairseq.kernels import dynamic_conv_from_logits
from lite_fairseq.kernels.conv_cpu import DYNAMIC_PATHS
from lite_fairseq.kernels.conv_cpu_logits import band_conv_from_logits, dynamic_conv_from_logits_cpu

def _reference(P):
    return lambda a, b: dynamic_conv_reference(a, softmax_reference(b), P)


@pytest.mark.parametrize("path", DYNAMIC_PATHS)
@pytest.mark.parametrize("shape", CPU_CONV_SHAPES)
def test_from_logits_path_matches_reference_in_value_and_gradient(path, shape):
    B, H, R, K, T = shape
    for P in conv_paddings(K):
        x, logits, go = conv_tensors(B, H, R, K, T, seed=K * 5 + P, zero_tail=min(2, T - 1))
        for training in (False, True):  # p=0 in training draws no mask and changes nothing
            assert_matches_reference(lambda a, b: dynamic_conv_from_logits_cpu(a, b, P, 0.0, training, path),
                                     x, logits, go, _reference(P))
        # dropout asked for but not training: no dropout
        assert_matches_reference(lambda a, b: dynamic_conv_from_logits_cpu(a, b, P, 0.5, False, path), x, logits, go,
                                 _reference(P))


def _with_seed(fn, seed=11):
    def run(*args):
        torch.manual_seed(seed)
        return fn(*args)

    return run


@pytest.mark.parametrize("path", DYNAMIC_PATHS)
def test_from_logits_with_dropout_passes_gradcheck(path):
    """The same mask on every call (reseeded), so the function is deterministic: K > T, K = 1, causal, centred,
    several chunks."""
    for (B, H, R, K, T), P in [((1, 2, 2, 3, 6), 1), ((2, 1, 2, 5, 3), 4), ((1, 2, 1, 7, 3), 3),
                               ((1, 2, 1, 3, 20), 2), ((1, 1, 2, 1, 4), 0), ((1, 1, 1, 4, 9), 3)]:
        x, logits, _ = conv_tensors(B, H, R, K, T, seed=T, zero_tail=1)
        x.requires_grad_(True)
        logits.requires_grad_(True)
        fn = _with_seed(lambda a, b: dynamic_conv_from_logits_cpu(a, b, P, 0.3, True, path))
        assert torch.autograd.gradcheck(fn, (x, logits)), (K, T, P)


def test_chunked_from_logits_with_dropout_passes_gradcheck_over_several_chunks():
    x, logits, _ = conv_tensors(1, 2, 2, 4, 11, seed=3)
    x.requires_grad_(True)
    logits.requires_grad_(True)
    for P in (0, 1, 3):
        fn = _with_seed(lambda a, b: band_conv_from_logits(a, b, P, 0.25, chunk=3))
        assert torch.autograd.gradcheck(fn, (x, logits)), P


@pytest.mark.parametrize("path", ["band", "chunked"])
def test_dropout_mask_is_one_draw_per_tap_shared_by_the_head_channels(path):
    """K=1: the softmax weight is 1, so each (b, head, t) gives 0 or x / (1 - p) on every channel of that head;
    the kept fraction is 1 - p (2400 draws: sd about 0.01)."""
    B, C, H, T, p = 4, 6, 3, 200, 0.3
    x, logits, _ = conv_tensors(B, H, C // H, 1, T, seed=1)
    out = dynamic_conv_from_logits_cpu(x, logits, 0, p, True, path)
    kept = out.abs() > 0
    assert torch.allclose(out[kept], (x / (1 - p))[kept], rtol=1e-12, atol=0)
    per_head = kept.view(B, H, C // H, T)
    assert (per_head == per_head[:, :, :1, :]).all()
    assert abs(per_head[:, :, 0, :].double().mean().item() - (1 - p)) < 0.04


def test_dropout_expectation_is_the_output_without_dropout():
    """Every batch row carries the same x and logits but draws its own mask: the mean over rows converges to the
    deterministic output (relative noise about 0.03 here, fixed seed)."""
    B, C, H, K, T, p = 256, 2, 1, 5, 6, 0.5
    x1, l1, _ = conv_tensors(1, H, C, K, T, seed=2)
    x1 = x1.abs() + 0.5
    torch.manual_seed(0)
    out = dynamic_conv_from_logits(x1.expand(B, C, T), l1.expand(B, H, K, T), 2, p, True, backend="torch")
    det = dynamic_conv_reference(x1, softmax_reference(l1), 2)[0]
    assert rel_err(out.mean(0), det) < 0.15
    assert not torch.allclose(out[0], out[1]), "batch rows must draw different masks"


def test_dropout_of_one_drops_everything_and_the_seed_repeats():
    x, logits, _ = conv_tensors(2, 2, 2, 3, 20)
    assert (dynamic_conv_from_logits(x, logits, 1, 1.0, True, backend="torch") == 0).all()
    assert_seed_repeats(lambda: dynamic_conv_from_logits(x, logits, 1, 0.5, True, backend="torch"))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_dropout_probability_is_named(p):
    x, logits, _ = conv_tensors(1, 2, 2, 3, 5)
    with pytest.raises(ValueError, match="weight_dropout must be in \\[0, 1\\]"):
        dynamic_conv_from_logits(x, logits, 1, p, True, backend="torch")


def test_band_from_logits_rejects_a_chunk_shorter_than_k_minus_1():
    x, logits, _ = conv_tensors(1, 1, 1, 7, 20)
    with pytest.raises(ValueError, match="chunk=3 must be at least K-1=6"):
        band_conv_from_logits(x, logits, 3, 0.0, chunk=3)


@pytest.mark.parametrize("path", DYNAMIC_PATHS)
def test_time_major_input_and_logits_give_the_same_values_and_gradients(path):
    """The layer holds x as T x B x C and its logits as T x B x H x K; the paths take the permuted views and
    return gradients in those layouts."""
    B, H, R, K, T, P = 2, 2, 3, 5, 12, 2
    x, logits, go = conv_tensors(B, H, R, K, T)
    xs, ls = x.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    out = dynamic_conv_from_logits_cpu(xs, ls, P, 0.0, True, path)
    plain = [out.detach()] + list(torch.autograd.grad(out, (xs, ls), go))
    xt = x.permute(2, 0, 1).contiguous().requires_grad_(True)
    lt = logits.permute(3, 0, 1, 2).contiguous().requires_grad_(True)
    out = dynamic_conv_from_logits_cpu(xt.permute(1, 2, 0), lt.permute(1, 2, 3, 0), P, 0.0, True, path)
    gx, gl = torch.autograd.grad(out, (xt, lt), go)
    for a, b in zip([out.detach(), gx.permute(1, 2, 0), gl.permute(1, 2, 3, 0)], plain):
        assert rel_err(a, b) < 1e-12


def test_float32_from_logits_agrees_with_the_float64_reference():
    B, H, R, K, T, P = 4, 4, 8, 31, 32, 15
    x, logits, _ = conv_tensors(B, H, R, K, T)
    ref = dynamic_conv_reference(x, softmax_reference(logits), P)
    for path in DYNAMIC_PATHS:
        assert rel_err(dynamic_conv_from_logits_cpu(x.float(), logits.float(), P, 0.0, True, path), ref) < 1e-5


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


conv_cases = st.composite(draw_conv_case)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(conv_cases())
def test_fuzz_every_from_logits_path_against_the_reference(case):
    B, H, R, K, T, P, chunk, seed = case
    x, logits, go = conv_tensors(B, H, R, K, T, seed=seed)
    for path in DYNAMIC_PATHS:
        assert_matches_reference(lambda a, b: dynamic_conv_from_logits_cpu(a, b, P, 0.0, True, path), x, logits, go,
                                 _reference(P))
    assert_matches_reference(lambda a, b: band_conv_from_logits(a, b, P, 0.0, chunk=chunk), x, logits, go,
                             _reference(P))
