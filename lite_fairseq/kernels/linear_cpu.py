"""Linear maps of a decoding step on a CPU: ``F.linear`` over a few rows, with each weight laid out once for the
product MKL runs fastest at that number of rows.

A decoding step multiplies one row per hypothesis (1 greedy, 4 for beam 4 at batch 1) by every weight matrix of
the decoder, so its time goes to reading weights. ``F.linear`` hands MKL the ``out x in`` weight as a transposed
operand; at these row counts MKL reads it slower than it reads other layouts (benchmarks/RESULTS.md, "Decoding,
fifth round"), measured on 1 thread over a decoder's worth of distinct weights (~50 MB, not cache-resident):

* 1 row: the weight stored transposed (``in x out`` contiguous, the same values) is read about 1.25x faster;
* 4, 8, ..., 32 rows: MKL's packed weight (``torch.ops.mkl._mkl_reorder_linear_weight``, what PyTorch's own
  compiler packs CPU linear weights with) is 1.3-1.9x faster; at 3, 5 or 6 rows it is slower than ``F.linear``
  and is not used;
* other row counts, more than :data:`MAX_ROWS` rows, autograd, other dtypes or devices, a torch built without MKL,
  or :data:`ENABLED` off (``LITE_FAIRSEQ_FEW_ROWS_LINEAR=0`` in the environment): ``F.linear`` itself.

Laying a weight out costs 1-13 of its products, so a weight is laid out for a row count only once it has been
multiplied :data:`LAYOUT_AFTER` times at that count (decoding at batch 1 reaches it within the first sentence), and
for at most :data:`MAX_LAYOUTS` row counts, kept, never swapped for others: the row counts a batch passes through as
its sentences finish come and go, and laying out each of them would cost more than it saves. The copies last until
the weight changes: a new tensor, new storage or an in-place update (an optimizer step, ``load_state_dict``) starts
over. Each costs about the weight's own memory. Results equal ``F.linear``'s up to float32 rounding (the products
add in another order).
"""

import os
import weakref
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

ENV = "LITE_FAIRSEQ_FEW_ROWS_LINEAR"  # "0": always F.linear (no laid-out copies: the memory of the weights once less)


def _enabled_from_environment() -> bool:
    value = os.environ.get(ENV, "1").strip()
    if value not in ("0", "1"):
        raise ValueError(f"{ENV}={value!r}: set it to 1 (lay a decoding step's weights out for MKL, the default) or "
                         "0 (plain F.linear, no extra copies of the weights)")
    return value == "1"


ENABLED = _enabled_from_environment()  # benchmarks switch it off and on to compare
MAX_ROWS = 32
MAX_LAYOUTS = 2  # row counts laid out per weight (greedy and beam 4, say)
LAYOUT_AFTER = 16  # products at one row count before a weight is laid out for it

_linear = F.linear  # bound once: a caller that routes F.linear through few_rows_linear gets no recursion
_MKL_LINEAR = getattr(torch.ops.mkl, "_mkl_linear", None) if torch.backends.mkl.is_available() else None
_MKL_PACK = getattr(torch.ops.mkl, "_mkl_reorder_linear_weight", None) if _MKL_LINEAR is not None else None


LAYOUTS = ("transposed", "mkl-packed")


def layouts_available() -> bool:
    """Whether this torch has MKL's linear operations (the layouts' products); without them, always ``F.linear``."""
    return _MKL_LINEAR is not None


def layout_for(rows: int) -> Optional[str]:
    """The weight layout used for ``rows`` rows: ``"transposed"``, ``"mkl-packed"`` or None (``F.linear``)."""
    if not ENABLED or _MKL_LINEAR is None or rows < 1 or rows > MAX_ROWS:
        return None
    if rows == 1:
        return "transposed"
    return "mkl-packed" if rows % 4 == 0 else None


def lay_out(weight: Tensor, layout: str, rows: int) -> Tensor:
    """A copy of ``weight`` (``out x in``) in ``layout`` for products of ``rows`` rows (needs MKL's operations)."""
    with torch.no_grad():
        w = weight.detach()
        return w.t().contiguous().t() if layout == "transposed" else _MKL_PACK(w, rows)


def multiply(x: Tensor, weight: Tensor, bias: Optional[Tensor], copy: Tensor, layout: str) -> Tensor:
    """``F.linear(x, weight, bias)`` computed with ``copy = lay_out(weight, layout, len(x))``."""
    if layout == "transposed":
        return _linear(x, copy, bias)
    return _MKL_LINEAR(x if x.is_contiguous() else x.contiguous(), copy, weight, bias, x.size(0))


class _Plan:
    """One weight's laid-out copies, valid while the weight keeps its storage and version."""

    __slots__ = ("weight", "key", "copies", "seen")

    def __init__(self, weight: Tensor):
        key = id(weight)
        self.weight = weakref.ref(weight, lambda ref: _forget(key, ref))  # copies go when the weight goes
        self.key = _key(weight)
        self.copies: Dict[int, Tensor] = {}
        self.seen: Dict[int, int] = {}  # products per row count not laid out yet


def _key(weight: Tensor):
    return weight.data_ptr(), -1 if weight.is_inference() else weight._version


def _eligible(weight: Tensor) -> bool:
    """A plain float32 CPU matrix, stored contiguously (not a quantised tensor subclass or a view)."""
    return (type(weight.data) is torch.Tensor and weight.dtype == torch.float32 and weight.device.type == "cpu"
            and weight.dim() == 2 and weight.is_contiguous())


_plans: Dict[int, _Plan] = {}  # id(weight) -> its plan, dropped when the weight is freed


def _forget(key: int, ref: "weakref.ref") -> None:
    plan = _plans.get(key)
    if plan is not None and plan.weight is ref:
        del _plans[key]


def _plan(weight: Tensor) -> Optional[_Plan]:
    plan = _plans.get(id(weight))
    if plan is not None and plan.weight() is weight:
        if plan.key != _key(weight):  # updated in place (optimizer step, load_state_dict): lay it out again
            plan.key, plan.copies, plan.seen = _key(weight), {}, {}
        return plan
    if not _eligible(weight):
        return None
    plan = _plans[id(weight)] = _Plan(weight)
    return plan


def _laid_out(plan: _Plan, weight: Tensor, rows: int, layout: str) -> Optional[Tensor]:
    """The copy of ``weight`` laid out for ``rows`` rows, made on the :data:`LAYOUT_AFTER`-th product at that row
    count if the weight has room for it; None: multiply by the weight as it is."""
    copy = plan.copies.get(rows)
    if copy is not None or len(plan.copies) >= MAX_LAYOUTS:
        return copy
    seen = plan.seen.get(rows, 0) + 1
    plan.seen[rows] = seen
    if seen < LAYOUT_AFTER:
        return None
    copy = plan.copies[rows] = lay_out(weight, layout, rows)
    if len(plan.copies) >= MAX_LAYOUTS:
        plan.seen = {}
    return copy


def few_rows_linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``F.linear(x, weight, bias)`` for a 2-D ``x`` (rows x in), through the layout :func:`layout_for` picks for
    its number of rows when nothing needs a gradient; any other call is ``F.linear`` itself."""
    layout = layout_for(x.size(0)) if x.dim() == 2 else None
    if layout is None or x.dtype != torch.float32 or not x.is_cpu or x.size(1) != weight.size(1):
        return _linear(x, weight, bias)
    if bias is not None and (bias.dtype != torch.float32 or not bias.is_cpu):
        return _linear(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad
                                    or (bias is not None and bias.requires_grad)):
        return _linear(x, weight, bias)
    plan = _plan(weight)
    if plan is None:
        return _linear(x, weight, bias)
    copy = _laid_out(plan, weight, x.size(0), layout)
    return _linear(x, weight, bias) if copy is None else multiply(x, weight, bias, copy, layout)


def weights_laid_out() -> int:
    """How many weights hold laid-out copies now."""
    return sum(1 for plan in _plans.values() if plan.copies)


def cached_layouts(weight: Tensor) -> Dict[int, Tensor]:
    """The laid-out copies held for ``weight`` (row count -> tensor), for tests and memory accounting."""
    plan = _plans.get(id(weight))
    if plan is None or plan.weight() is not weight or plan.key != _key(weight):
        return {}
    return dict(plan.copies)
