"""Bad input gets a clear error, on every backend; the package works without Triton."""

import sys

import pytest
import torch

from helpers import run
from kernel_helpers import DEVICE, needs_triton
from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits, lightweight_conv

BAD = [
    ((2, 8), (2, 2, 3, 5), 1, "x must be B x C x T"),
    ((2, 8, 5), (2, 2, 3), 1, "weight must be B x H x K x T"),
    ((2, 8, 5), (2, 3, 3, 5), 1, "must divide channels"),
    ((2, 8, 5), (1, 2, 3, 5), 1, "does not match"),
    ((2, 8, 5), (2, 2, 3, 6), 1, "does not match"),
    ((2, 8, 5), (2, 2, 3, 5), 3, "padding_l"),
    ((2, 8, 5), (2, 2, 3, 5), -1, "padding_l"),
    ((2, 8, 5), (2, 2, 0, 5), 0, "kernel size|padding_l"),
]


@pytest.mark.parametrize("backend", ["torch", pytest.param("triton", marks=needs_triton)])
@pytest.mark.parametrize("xs,ws,pad,msg", BAD)
def test_bad_shapes_raise_value_error(xs, ws, pad, msg, backend):
    device = "cpu" if backend == "torch" else DEVICE
    x, w = torch.randn(*xs, device=device), torch.randn(*ws, device=device)
    with pytest.raises(ValueError, match=msg):
        dynamic_conv(x, w, pad, backend=backend)
    with pytest.raises(ValueError, match=msg):
        dynamic_conv_from_logits(x, w, pad, backend=backend)


@pytest.mark.parametrize("backend", ["torch", pytest.param("triton", marks=needs_triton)])
def test_bad_lightweight_shapes(backend):
    x = torch.randn(2, 8, 5)
    with pytest.raises(ValueError, match="weight must be H x K"):
        lightweight_conv(x, torch.randn(2, 2, 3), 1, backend=backend)
    with pytest.raises(ValueError, match="must divide"):
        lightweight_conv(x, torch.randn(3, 3), 1, backend=backend)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown convolution backend"):
        dynamic_conv(torch.randn(1, 2, 3), torch.randn(1, 1, 1, 3), 0, backend="cuda")


@needs_triton
def test_triton_rejects_what_it_cannot_run():
    x = torch.randn(1, 4, 70, device=DEVICE)
    with pytest.raises(ValueError, match="over the supported 63"):
        dynamic_conv(x, torch.randn(1, 2, 64, 70, device=DEVICE), 10, backend="triton")
    with pytest.raises(ValueError, match="dtype"):
        dynamic_conv(x, torch.randn(1, 2, 3, 70, device=DEVICE, dtype=torch.float64), 1, backend="triton")
    with pytest.raises(ValueError, match="unsupported dtype"):
        dynamic_conv(x.to(torch.int32), torch.ones(1, 2, 3, 70, device=DEVICE, dtype=torch.int32), 1,
                     backend="triton")


@needs_triton
def test_triton_on_cpu_without_interpreter_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="needs CUDA tensors"):
        dynamic_conv(torch.randn(1, 2, 3), torch.randn(1, 1, 1, 3), 0, backend="triton")


def test_auto_uses_torch_path_on_cpu():
    x, w = torch.randn(1, 4, 6, dtype=torch.float64), torch.randn(1, 2, 3, 6, dtype=torch.float64)
    assert torch.equal(dynamic_conv(x, w, 1), dynamic_conv(x, w, 1, backend="torch"))


def test_package_works_without_triton():
    """With Triton made unimportable, the package imports, the CPU path runs, and backend='triton' says why
    it cannot run."""
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import torch\n"
        "from lite_fairseq.kernels import dynamic_conv, triton_available\n"
        "assert not triton_available()\n"
        "x, w = torch.randn(1, 4, 6), torch.randn(1, 2, 3, 6)\n"
        "dynamic_conv(x, w, 1)\n"
        "try:\n"
        "    dynamic_conv(x, w, 1, backend='triton')\n"
        "except RuntimeError as e:\n"
        "    assert 'Triton cannot be imported' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
        "print('ok')\n"
    )
    res = run([sys.executable, "-c", code], timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
