"""Convolution and dropout kernels behind one dispatch point.

:func:`dynamic_conv` and :func:`dynamic_conv_from_logits` are what the LSRA layers call; :func:`lightweight_conv`
is the time-shared (one kernel per head) sibling; :func:`dropout` is the layers' dropout (a cheaper random draw on the
CPU, :mod:`.dropout_cpu`); :func:`few_rows_linear` is ``F.linear`` for a decoding step's few rows, through the
weight layout MKL reads fastest at that row count (:mod:`.linear_cpu`). ``backend``:
``"auto"`` (the fused Triton kernel for CUDA tensors when Triton is installed, the PyTorch path otherwise),
``"torch"`` (always the PyTorch path) or ``"triton"`` (the fused kernel, an error if it cannot run).

The PyTorch path is :mod:`.conv_cpu`: band-matrix products (whole sequence or chunks of it) for dynamic
convolution and oneDNN's depthwise convolution for lightweight convolution, chosen per shape; from kernel logits
(:mod:`.conv_cpu_logits`) the softmax over the taps and DropConnect are fused into the band paths.

Triton is imported only when the Triton backend is used, so this package imports and runs on the CPU without it.
"""

import functools
import os

import torch

from .conv_cpu import dynamic_conv_cpu, lightweight_conv_cpu
from .conv_cpu_logits import dynamic_conv_from_logits_cpu
from .dropout_cpu import check_dropout_p, dropout_cpu
from .dynamic_conv_torch import (
    check_conv_config,
    check_dynamic_conv_shapes,
    dynamic_conv_from_logits_torch,
    dynamic_conv_torch,
    softmax_over_taps,
)
from .linear_cpu import few_rows_linear

BACKENDS = ("auto", "torch", "triton")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown convolution backend {backend!r}; choose one of {', '.join(BACKENDS)}")


@functools.lru_cache(maxsize=1)
def _triton_module():
    """The Triton kernel module, or the ImportError that stops it (cached either way)."""
    try:
        from . import dynamic_conv_triton
    except ImportError as err:  # Triton missing or broken
        return err
    return dynamic_conv_triton


def triton_available() -> bool:
    """True when the Triton kernels can be imported."""
    return not isinstance(_triton_module(), ImportError)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _use_triton(backend: str, *tensors: torch.Tensor) -> bool:
    """Decide the path; for backend="triton" raise a clear error if the kernel cannot run on these tensors."""
    _check_backend(backend)
    if backend == "torch":
        return False
    on_cuda = all(t.is_cuda for t in tensors)
    if backend == "auto":
        return on_cuda and triton_available()
    mod = _triton_module()
    if isinstance(mod, ImportError):
        raise RuntimeError(f"backend='triton' asked for, but Triton cannot be imported: {mod}")
    if not on_cuda and not _interpreting():
        raise RuntimeError(
            "backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1 set before Triton is imported, "
            "for Triton's slow CPU interpreter); got tensors on "
            + ", ".join(sorted({str(t.device) for t in tensors}))
        )
    return True


def dynamic_conv(x, weight, padding_l: int, backend: str = "auto"):
    """x: B x C x T, weight: B x H x K x T (normalised) -> B x C x T."""
    if _use_triton(backend, x, weight):
        check_dynamic_conv_shapes(x, weight, padding_l)
        return _triton_module().dynamic_conv_triton(x, weight, padding_l)
    check_dynamic_conv_shapes(x, weight, padding_l)
    return dynamic_conv_cpu(x, weight, padding_l)


def dynamic_conv_from_logits(x, logits, padding_l: int, weight_dropout: float = 0.0, training: bool = False,
                             backend: str = "auto"):
    """Like :func:`dynamic_conv` but takes raw kernel logits (B x H x K x T): softmax over K and DropConnect
    are applied first (fused into the kernel on the GPU path)."""
    if _use_triton(backend, x, logits):
        check_dynamic_conv_shapes(x, logits, padding_l)
        return _triton_module().dynamic_conv_from_logits_triton(x, logits, padding_l, weight_dropout, training)
    check_dynamic_conv_shapes(x, logits, padding_l)
    return dynamic_conv_from_logits_cpu(x, logits, padding_l, weight_dropout, training)


def check_lightweight_conv_shapes(x, weight, padding_l: int) -> None:
    """Raise a ValueError naming what does not fit (x B x C x T, weight H x K)."""
    if x.dim() != 3:
        raise ValueError(f"lightweight_conv: x must be B x C x T, got shape {tuple(x.shape)}")
    if weight.dim() != 2:
        raise ValueError(f"lightweight_conv: weight must be H x K, got shape {tuple(weight.shape)}")
    B, _, T = x.shape
    H, K = weight.shape
    check_dynamic_conv_shapes(x, weight.view(1, H, K, 1).expand(B, H, K, T), padding_l)


def lightweight_conv(x, weight, padding_l: int, backend: str = "auto"):
    """Lightweight convolution: one kernel per head shared over batch and time.

    x: B x C x T, weight: H x K (already normalised and dropped out; DropConnect on an H x K weight is cheap in
    PyTorch and fairseq applies it once per forward) -> B x C x T. Runs the dynamic-convolution kernel on a
    stride-0 expanded view of the weight, so no B x H x K x T copy of the weight is made in the forward pass."""
    check_lightweight_conv_shapes(x, weight, padding_l)
    B, _, T = x.shape
    H, K = weight.shape
    if _use_triton(backend, x, weight):
        expanded = weight.view(1, H, K, 1).expand(B, H, K, T)
        return _triton_module().dynamic_conv_triton(x, expanded, padding_l)
    return lightweight_conv_cpu(x, weight, padding_l)


def dropout(x, p: float, training: bool = True):
    """``F.dropout(x, p, training)``: on a floating-point CPU tensor the mask comes from :mod:`.dropout_cpu`'s
    cheaper draw (the same distribution); elsewhere (CUDA, whose dropout is fused already) it is ``F.dropout``."""
    check_dropout_p(p)
    if not training or p == 0.0:
        return x
    if x.device.type == "cpu" and x.is_floating_point():
        return dropout_cpu(x, p)
    return torch.nn.functional.dropout(x, p=p, training=True)


__all__ = [
    "BACKENDS",
    "check_conv_config",
    "check_dynamic_conv_shapes",
    "check_lightweight_conv_shapes",
    "dropout",
    "dynamic_conv",
    "dynamic_conv_from_logits",
    "dynamic_conv_torch",
    "dynamic_conv_from_logits_torch",
    "few_rows_linear",
    "lightweight_conv",
    "softmax_over_taps",
    "triton_available",
]
