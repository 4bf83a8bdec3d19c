"""The CPU convolution paths (kernels.conv_cpu) against the float64 reference, and the choice among them."""

import pytest
import torch

from dynconv_reference import dynamic_conv_reference, rel_err, softmax_reference
from kernel_helpers import (CPU_CONV_SHAPES, assert_matches_reference, conv_paddings, conv_tensors, draw_conv_case,
                            value_and_grads)
from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits, lightweight_conv
from lite_fairseq.kernels.conv_cpu import (
    DYNAMIC_PATHS,
    LIGHTWEIGHT_PATHS,
    band_conv,
    choose_dynamic_path,
    choose_lightweight_path,
    chunk_length,
    dynamic_conv_cpu,
    lightweight_conv_cpu,
)

@pytest.mark.parametrize("path", DYNAMIC_PATHS)
@pytest.mark.parametrize("shape", CPU_CONV_SHAPES)
def test_dynamic_path_matches_reference_in_value_and_gradient(path, shape):
    B, H, R, K, T = shape
    for P in conv_paddings(K):
        x, w, go = conv_tensors(B, H, R, K, T, seed=K * 7 + P, zero_tail=min(2, T - 1), zero_weight_tail=True)
        assert_matches_reference(lambda a, b: dynamic_conv_cpu(a, b, P, path), x, w, go,
                                  lambda a, b: dynamic_conv_reference(a, b, P))


@pytest.mark.parametrize("chunk", [2, 3, 5, 8])
def test_band_with_any_chunk_of_at_least_k_minus_1_matches_reference(chunk):
    B, H, R, K, T = 2, 2, 3, 3, 17  # 17 is not a multiple of any chunk: the last chunk is padded
    for P in conv_paddings(K):
        x, w, go = conv_tensors(B, H, R, K, T, seed=chunk + P)
        assert_matches_reference(lambda a, b: band_conv(a, b, P, chunk=chunk), x, w, go,
                                  lambda a, b: dynamic_conv_reference(a, b, P))


def test_band_rejects_a_chunk_shorter_than_k_minus_1():
    x, w, _ = conv_tensors(1, 1, 1, 7, 20)
    with pytest.raises(ValueError, match="chunk=3 must be at least K-1=6"):
        band_conv(x, w, 3, chunk=3)


@pytest.mark.parametrize("path", LIGHTWEIGHT_PATHS)
@pytest.mark.parametrize("shape", CPU_CONV_SHAPES)
def test_lightweight_path_matches_reference_in_value_and_gradient(path, shape):
    B, H, R, K, T = shape
    for P in conv_paddings(K):
        x, _, go = conv_tensors(B, H, R, K, T, seed=K + P, zero_tail=min(2, T - 1), zero_weight_tail=True)
        w = torch.randn(H, K, dtype=torch.float64, generator=torch.Generator().manual_seed(P))
        assert_matches_reference(
            lambda a, b: lightweight_conv_cpu(a, b, P, path), x, w, go,
            lambda a, b: dynamic_conv_reference(a, b.view(1, H, K, 1).expand(B, H, K, T), P))


@pytest.mark.parametrize("path", DYNAMIC_PATHS)
def test_dynamic_path_passes_gradcheck(path):
    for (B, H, R, K, T), P in [((1, 2, 2, 3, 6), 1), ((2, 1, 2, 5, 3), 4), ((1, 2, 1, 3, 20), 2), ((1, 1, 2, 1, 4), 0)]:
        x, w, _ = conv_tensors(B, H, R, K, T, seed=T)
        x.requires_grad_(True)
        w.requires_grad_(True)
        assert torch.autograd.gradcheck(lambda a, b: dynamic_conv_cpu(a, b, P, path), (x, w))


def test_chunked_band_passes_gradcheck_over_several_chunks():
    x, w, _ = conv_tensors(1, 2, 2, 4, 11, seed=3)
    x.requires_grad_(True)
    w.requires_grad_(True)
    for P in (0, 1, 3):
        assert torch.autograd.gradcheck(lambda a, b: band_conv(a, b, P, chunk=3), (x, w))


@pytest.mark.parametrize("path", LIGHTWEIGHT_PATHS)
def test_lightweight_path_passes_gradcheck(path):
    x, _, _ = conv_tensors(2, 2, 2, 3, 7, seed=5)
    w = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    x.requires_grad_(True)
    for P in (0, 1, 2):
        assert torch.autograd.gradcheck(lambda a, b: lightweight_conv_cpu(a, b, P, path), (x, w))


@pytest.mark.parametrize("path", DYNAMIC_PATHS)
def test_time_major_input_and_weight_give_the_same_values_and_gradients(path):
    """Layers hold x as T x B x C and build weights as T x B x H x K; the paths take their permuted views."""
    B, H, R, K, T, P = 2, 2, 3, 5, 12, 2
    x, w, go = conv_tensors(B, H, R, K, T)
    plain = value_and_grads(lambda a, b: dynamic_conv_cpu(a, b, P, path), x, w, go)
    xt = x.permute(2, 0, 1).contiguous().requires_grad_(True)
    wt = w.permute(3, 0, 1, 2).contiguous().requires_grad_(True)
    out = dynamic_conv_cpu(xt.permute(1, 2, 0), wt.permute(1, 2, 3, 0), P, path)
    gx, gw = torch.autograd.grad(out, (xt, wt), go)
    for a, b in zip([out.detach(), gx.permute(1, 2, 0), gw.permute(1, 2, 3, 0)], plain):
        assert rel_err(a, b) < 1e-12


def test_float32_paths_agree_with_the_float64_reference():
    B, H, R, K, T, P = 4, 4, 8, 31, 32, 15
    x, w, go = conv_tensors(B, H, R, K, T)
    w = torch.softmax(w, dim=2)
    ref = dynamic_conv_reference(x, w, P)
    for path in DYNAMIC_PATHS:
        assert rel_err(dynamic_conv_cpu(x.float(), w.float(), P, path), ref) < 1e-5, path


def test_rule_picks_the_band_unless_chunks_save_a_third_of_its_width():
    assert choose_dynamic_path(128, 248, 4, 31, 32) == "band"  # one chunk of 32 steps: the band itself
    assert choose_dynamic_path(128, 248, 4, 31, 30) == "band"
    assert choose_dynamic_path(8, 248, 4, 31, 40) == "band"  # chunks of 40: the same
    assert choose_dynamic_path(128, 248, 4, 3, 32) == "chunked"  # chunks of 16: 18 columns against 34
    assert choose_dynamic_path(32, 248, 4, 31, 128) == "chunked"
    assert choose_dynamic_path(8, 448, 4, 63, 512) == "chunked"
    assert choose_lightweight_path(8, 448, 4, 63, 512) == "chunked"
    assert choose_lightweight_path(32, 248, 4, 31, 128) == "chunked"  # three chunks
    assert choose_lightweight_path(128, 248, 4, 15, 32) == "band"  # two chunks: more memory than the band


def test_chunk_length_is_at_least_k_minus_1_or_the_whole_sequence():
    for K in (1, 2, 3, 15, 31, 63):
        for T in range(1, 700):
            L = chunk_length(K, T)
            assert 1 <= L <= T and (L == T or L >= K - 1), (K, T, L)


def test_public_functions_on_the_torch_backend_equal_every_candidate_path():
    B, H, R, K, T, P = 2, 2, 3, 7, 9, 6
    x, logits, _ = conv_tensors(B, H, R, K, T)
    w = softmax_reference(logits)
    out = dynamic_conv(x, w, P, backend="torch")
    for path in DYNAMIC_PATHS:
        assert rel_err(dynamic_conv_cpu(x, w, P, path), out) < 1e-12, path
    assert rel_err(dynamic_conv_from_logits(x, logits, P, backend="torch"), out) < 1e-12
    lw = torch.randn(H, K, dtype=torch.float64)
    out = lightweight_conv(x, lw, P, backend="torch")
    for path in LIGHTWEIGHT_PATHS:
        assert rel_err(lightweight_conv_cpu(x, lw, P, path), out) < 1e-12, path


def test_unknown_path_is_named_in_the_error():
    x, w, _ = conv_tensors(1, 1, 1, 3, 4)
    with pytest.raises(ValueError, match="unknown CPU convolution path 'fft'.*band, chunked, shift"):
        dynamic_conv_cpu(x, w, 1, "fft")
    with pytest.raises(ValueError, match="conv1d"):
        lightweight_conv_cpu(x, w[0, :, :, 0], 1, "fft")


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


conv_cases = st.composite(draw_conv_case)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(conv_cases())
def test_fuzz_every_cpu_path_against_the_reference(case):
    B, H, R, K, T, P, chunk, seed = case
    x, w, go = conv_tensors(B, H, R, K, T, seed=seed)
    ref = lambda a, b: dynamic_conv_reference(a, b, P)  # noqa: E731
    for path in DYNAMIC_PATHS:
        assert_matches_reference(lambda a, b: dynamic_conv_cpu(a, b, P, path), x, w, go, ref)
    assert_matches_reference(lambda a, b: band_conv(a, b, P, chunk=chunk), x, w, go, ref)
    lw = w[0, :, :, 0].clone()
    lref = lambda a, b: dynamic_conv_reference(a, b.view(1, H, K, 1).expand(B, H, K, T), P)  # noqa: E731
    for path in LIGHTWEIGHT_PATHS:
        assert_matches_reference(lambda a, b: lightweight_conv_cpu(a, b, P, path), x, lw, go, lref)
