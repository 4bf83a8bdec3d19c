"""Dropout on the CPU with a cheaper random draw: the same meaning as ``F.dropout(x, p, training=True)``.

PyTorch's CPU dropout draws one Bernoulli sample per element (``bernoulli_``) and was the largest element-wise
cost of a Lite Transformer training step on the CPU (benchmarks/RESULTS.md, "CPU efficiency (issue 13)"). Here one
64-bit random integer from torch's default CPU generator serves two elements: each 32-bit half, uniform on
``[-2**31, 2**31)``, drops its element when it is below ``round(p * 2**32) - 2**31``. Every element is so dropped
independently with probability ``p`` (to 2**-32), the others are scaled by ``1 / (1 - p)``, and
``torch.manual_seed`` (fairseq's ``--seed``) fixes the draw. The mask is applied as one float multiplier, which
autograd keeps for the backward pass exactly as ``F.dropout`` keeps its own.
"""

import torch

_HALF = 2 ** 31


def check_dropout_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")


def drop_threshold(p: float) -> int:
    """The int32 threshold below which a uniform 32-bit draw drops its element (``0 < p < 1``)."""
    return min(round(p * 2 * _HALF) - _HALF, _HALF - 1)


def dropout_cpu(x: torch.Tensor, p: float) -> torch.Tensor:
    """``F.dropout(x, p, training=True)`` for a floating-point CPU tensor ``x`` (any shape and strides)."""
    check_dropout_p(p)
    if p == 0.0:
        return x
    if p == 1.0:
        return x * torch.zeros((), dtype=x.dtype)
    n = x.numel()
    draws = torch.empty((n + 1) // 2, dtype=torch.int64).random_(-(2 ** 63), None)
    draws = draws.view(torch.int32)[:n].view(x.shape)
    keep_scale = torch.full((), 1.0 / (1.0 - p), dtype=x.dtype)
    multiplier = torch.where(draws < drop_threshold(p), torch.zeros((), dtype=x.dtype), keep_scale)
    return x * multiplier
