"""Convolution kernels behind one dispatch point.

:func:`dynamic_conv` and :func:`dynamic_conv_from_logits` are what the LSRA layers call. ``backend``:
``"auto"`` (a fused GPU kernel for CUDA tensors when one is available, the PyTorch path otherwise), ``"torch"``
(always the PyTorch path, for debugging) or ``"triton"`` (the fused kernel, an error if it cannot run).
"""

from .dynamic_conv_torch import (
    check_dynamic_conv_shapes,
    dynamic_conv_from_logits_torch,
    dynamic_conv_torch,
)

BACKENDS = ("auto", "torch", "triton")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown convolution backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def dynamic_conv(x, weight, padding_l: int, backend: str = "auto"):
    """x: B x C x T, weight: B x H x K x T (normalised) -> B x C x T."""
    _check_backend(backend)
    if backend == "triton":
        raise RuntimeError("the Triton dynamic-convolution kernel is not available in this build")
    return dynamic_conv_torch(x, weight, padding_l)


def dynamic_conv_from_logits(x, logits, padding_l: int, weight_dropout: float = 0.0, training: bool = False,
                             backend: str = "auto"):
    """Like :func:`dynamic_conv` but takes raw kernel logits (B x H x K x T): softmax over K and DropConnect
    are applied first (fused into the kernel on the GPU path)."""
    _check_backend(backend)
    if backend == "triton":
        raise RuntimeError("the Triton dynamic-convolution kernel is not available in this build")
    return dynamic_conv_from_logits_torch(x, logits, padding_l, weight_dropout, training)


__all__ = [
    "BACKENDS",
    "check_dynamic_conv_shapes",
    "dynamic_conv",
    "dynamic_conv_from_logits",
    "dynamic_conv_torch",
    "dynamic_conv_from_logits_torch",
]
