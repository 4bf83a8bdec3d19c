"""Dropout on the CPU with a cheaper random draw: the same meaning as ``F.dropout(x, p, training=True)``.

PyTorch's CPU dropout draws one Bernoulli sample per element (``bernoulli_``) and was the largest element-wise
cost of a Lite Transformer training step on the CPU (benchmarks/RESULTS.md, "CPU efficiency (issue 13)"). Here the
mask comes from 64-bit random integers, each cut into four 16-bit fields (or two 32-bit ones, below), one per
element: a field, uniform on ``[-2**15, 2**15)``, drops its element when it is below a threshold. Every element is
so dropped independently, and the others are scaled by ``1 / (1 - p)``, F.dropout's own arithmetic.

The integers come from numpy's PCG64 generator, about twice as fast per integer as torch's CPU generator
(Mersenne Twister, which ``random_`` and ``bernoulli_`` use, under a lock and on one thread), and each serves four
elements instead of the two of a 32-bit split: a mask takes about a quarter of the time to draw. Its seed, one integer
per call, is drawn from torch's default CPU generator, so ``torch.manual_seed`` (fairseq's ``--seed``) fixes every
mask and each call gets a fresh one.

16-bit fields resolve the drop probability in steps of 2**-16. They are used when that step changes ``p`` (and
``1 - p``) by at most 0.1% of itself: every dropout of the paper's presets (0.03 and up). Otherwise (for example
``p = 0.001``) two 32-bit fields per integer keep ``p`` to 2**-32.
"""

import numpy as np
import torch

MAX_RELATIVE_ERROR = 1e-3  # of p and of 1 - p, for 16-bit fields


def check_dropout_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")


def drop_threshold(p: float, bits: int) -> int:
    """The signed ``bits``-bit threshold below which a uniform field drops its element (``0 < p < 1``)."""
    half = 2 ** (bits - 1)
    return min(max(round(p * 2 * half) - half, -half), half - 1)


def field_bits(p: float) -> int:
    """16 where a 16-bit threshold gives ``p`` and ``1 - p`` to within :data:`MAX_RELATIVE_ERROR` of themselves,
    else 32."""
    realised = (drop_threshold(p, 16) + 2 ** 15) / 2 ** 16
    if abs(realised - p) <= MAX_RELATIVE_ERROR * min(p, 1.0 - p):
        return 16
    return 32


def random_fields(n: int, bits: int) -> torch.Tensor:
    """``n`` independent uniform signed ``bits``-bit integers (int16 or int32) from numpy's PCG64, seeded by one
    draw of torch's default CPU generator."""
    seed = int(torch.randint(0, 2 ** 62, (), dtype=torch.int64))
    per_integer = 64 // bits
    raw = np.random.PCG64(seed).random_raw((n + per_integer - 1) // per_integer)
    return torch.from_numpy(raw.view(np.int16 if bits == 16 else np.int32)[:n])


def dropout_cpu(x: torch.Tensor, p: float) -> torch.Tensor:
    """``F.dropout(x, p, training=True)`` for a floating-point CPU tensor ``x`` (any shape and strides)."""
    check_dropout_p(p)
    if p == 0.0:
        return x
    if p == 1.0:
        return x * torch.zeros((), dtype=x.dtype)
    bits = field_bits(p)
    fields = random_fields(x.numel(), bits).view(x.shape)
    keep_scale = torch.full((), 1.0 / (1.0 - p), dtype=x.dtype)
    multiplier = torch.where(fields < drop_threshold(p, bits), torch.zeros((), dtype=x.dtype), keep_scale)
    return x * multiplier
