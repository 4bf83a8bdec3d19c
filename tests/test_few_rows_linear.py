"""lite_fairseq.kernels.few_rows_linear: F.linear for a decoding step's few rows through a faster weight layout."""

import copy
import gc
import os
import random
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lite_fairseq.kernels import few_rows_linear, linear_cpu

needs_mkl = pytest.mark.skipif(linear_cpu.layout_for(1) is None, reason="torch built without MKL's linear ops")


@needs_mkl
def test_layouts_are_chosen_where_they_were_measured_faster_and_plain_linear_elsewhere():
    assert linear_cpu.layout_for(1) == "transposed"
    for rows in (4, 8, 12, 16, 32):
        assert linear_cpu.layout_for(rows) == "mkl-packed"
    for rows in (0, 2, 3, 5, 6, 33, 64):
        assert linear_cpu.layout_for(rows) is None


@needs_mkl
def test_few_rows_linear_matches_the_float64_reference_at_fuzzed_shapes():
    rng = random.Random(0)
    for _ in range(40):
        rows = rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 24, 32, 33])
        n_in, n_out = rng.randint(1, 300), rng.randint(1, 300)
        weight, x = torch.randn(n_out, n_in), torch.randn(rows, n_in)
        bias = torch.randn(n_out) if rng.random() < 0.7 else None
        reference = F.linear(x.double(), weight.double(), None if bias is None else bias.double())
        with torch.no_grad():
            for _ in range(linear_cpu.LAYOUT_AFTER):  # the last product runs on the laid-out copy
                out = few_rows_linear(x, weight, bias)
                assert out.dtype == torch.float32 and out.shape == (rows, n_out)
                torch.testing.assert_close(out.double(), reference, atol=1e-4, rtol=1e-5)
        if linear_cpu.layout_for(rows) is not None:
            assert set(linear_cpu.cached_layouts(weight)) == {rows}, (rows, n_in, n_out)
        else:
            assert linear_cpu.cached_layouts(weight) == {}


@needs_mkl
def test_an_in_place_update_or_a_new_tensor_is_seen_by_the_next_call():
    layer = nn.Linear(64, 48)
    x = torch.randn(4, 64)

    def laid_out_equals_linear(rows):
        for _ in range(linear_cpu.LAYOUT_AFTER):
            torch.testing.assert_close(few_rows_linear(x[:rows], layer.weight, layer.bias),
                                       F.linear(x[:rows], layer.weight, layer.bias), atol=1e-5, rtol=1e-5)
        assert rows in linear_cpu.cached_layouts(layer.weight)

    with torch.no_grad():
        laid_out_equals_linear(4)
        layer.weight.mul_(-2.0)  # what an optimizer step or load_state_dict does
        assert linear_cpu.cached_layouts(layer.weight) == {}
        laid_out_equals_linear(4)
        layer.load_state_dict(copy.deepcopy(nn.Linear(64, 48).state_dict()))
        laid_out_equals_linear(4)
        layer.weight.data = torch.randn(48, 64)  # new storage under the same parameter
        laid_out_equals_linear(1)


def test_anything_that_needs_a_gradient_runs_plain_linear_and_gets_its_gradient():
    layer = nn.Linear(32, 16)
    x = torch.randn(4, 32, requires_grad=True)
    out = few_rows_linear(x, layer.weight, layer.bias)
    assert out.grad_fn is not None
    out.square().sum().backward()
    grads = (x.grad.clone(), layer.weight.grad.clone())
    x.grad, layer.weight.grad = None, None
    F.linear(x, layer.weight, layer.bias).square().sum().backward()
    assert torch.equal(grads[0], x.grad) and torch.equal(grads[1], layer.weight.grad)
    assert linear_cpu.cached_layouts(layer.weight) == {}


def test_other_dtypes_ranks_and_switched_off_run_plain_linear_exactly(monkeypatch):
    weight, bias = torch.randn(20, 10), torch.randn(20)
    with torch.no_grad():
        for x in (torch.randn(4, 10, dtype=torch.float64), torch.randn(1, 4, 10), torch.randn(40, 10)):
            w = weight.to(x.dtype)
            b = bias.to(x.dtype)
            assert torch.equal(few_rows_linear(x, w, b), F.linear(x, w, b))
            assert linear_cpu.cached_layouts(w) == {}
        monkeypatch.setattr(linear_cpu, "ENABLED", False)
        x = torch.randn(4, 10)
        assert torch.equal(few_rows_linear(x, weight, bias), F.linear(x, weight, bias))
        assert linear_cpu.cached_layouts(weight) == {}


@needs_mkl
def test_a_row_count_is_laid_out_after_layout_after_products_and_the_first_max_layouts_counts_stay():
    """The row counts a batch passes through as its sentences finish come and go: they are not laid out one after
    another (each copy costs several products), a weight keeps the first MAX_LAYOUTS row counts it was laid out for."""
    weight = torch.randn(30, 20)
    with torch.no_grad():
        for rows in (4, 8, 12, 16, 4, 8, 12, 16) * (linear_cpu.LAYOUT_AFTER // 2 - 1):  # each count just short
            few_rows_linear(torch.randn(rows, 20), weight)
        assert linear_cpu.cached_layouts(weight) == {}
        for rows in (1, 4, 8, 16):
            for _ in range(linear_cpu.LAYOUT_AFTER):
                x = torch.randn(rows, 20)
                torch.testing.assert_close(few_rows_linear(x, weight), F.linear(x, weight), atol=1e-5, rtol=1e-5)
        assert sorted(linear_cpu.cached_layouts(weight)) == [1, 4]  # the first two to reach LAYOUT_AFTER
        held = linear_cpu.weights_laid_out()
        del weight
        gc.collect()
        assert linear_cpu.weights_laid_out() == held - 1


@pytest.mark.parametrize("value,expected", [("0", "False"), ("1", "True"),
                                            ("yes", "LITE_FAIRSEQ_FEW_ROWS_LINEAR='yes'")])
def test_the_environment_switches_the_layouts_off_and_a_bad_value_is_named(value, expected):
    env = dict(os.environ, LITE_FAIRSEQ_FEW_ROWS_LINEAR=value)
    code = "from lite_fairseq.kernels import linear_cpu; print(linear_cpu.ENABLED)"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert expected in run.stdout + run.stderr
    assert (run.returncode == 0) == (value in ("0", "1"))
