"""Scale a hand-designed model to a measured latency, so that a searched design is compared with the baselines at
the latency the search was limited to ("the Lite preset and fairseq's Transformer scaled to the same measured
latency").

A baseline (any registered translation architecture with its overrides) is scaled by one number, its embedding
dimension ``d`` on both sides; each side's FFN dimension keeps the ratio to ``d`` the architecture has (the
Transformer's 2d or 4d, Lite's flattened d). Widths are multiples of ``multiple_of`` between ``min_width`` and
``max_width``. Each width is built with random weights and timed as ``lite-fairseq-search latency`` times designs
(:class:`~lite_fairseq.search.latency.Conditions`); a bisection over the widths brackets the target. One
measurement can be off by tens of percent on a shared or throttling device, and a single outlier sends a bisection
the wrong way, so the match is the width whose latency on a curve fitted to every width timed (a quadratic in the
width, least squares on relative residuals) is nearest the target; that width is timed too, and both figures are
kept.
"""

from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch

from lite_fairseq.profiler import ProfilerError, build

from .errors import SearchError
from .latency import Conditions, check_conditions, time_built

SIDES = ("encoder", "decoder")
WIDTH_OPTIONS = tuple(f"--{side}-{what}" for side in SIDES
                      for what in ("embed-dim", "ffn-embed-dim", "ffn-embed-dim-list"))


@dataclass
class WidthMeasurement:
    width: int
    latency_ms: float  # median
    min_ms: float


@dataclass
class Match:
    arch: str
    overrides: List[str]  # the caller's, then the matched width's
    width: int
    latency_ms: float
    target_ms: float
    conditions: Conditions
    measured: List[WidthMeasurement] = field(default_factory=list)
    fitted_ms: Optional[float] = None  # the fitted curve's latency at ``width`` (None: fewer than 3 widths timed)

    def train_args(self) -> List[str]:
        """The model's ``fairseq-train`` options."""
        return ["--arch", self.arch, *self.overrides]

    def to_dict(self) -> Dict:
        return {"arch": self.arch, "overrides": self.overrides, "width": self.width, "latency_ms": self.latency_ms,
                "fitted_ms": self.fitted_ms, "target_ms": self.target_ms, "conditions": asdict(self.conditions),
                "measured": [asdict(m) for m in sorted(self.measured, key=lambda m: m.width)]}


def check_overrides(overrides: Sequence[str]) -> None:
    for option in overrides:
        if option.split("=", 1)[0] in WIDTH_OPTIONS:
            raise SearchError(f"--set: {option} is chosen by the matching (it scales the embedding and FFN "
                              "dimensions); leave it out")


def ffn_ratios(arch: str, overrides: Sequence[str], conditions: Conditions) -> Dict[str, float]:
    """Each side's FFN dimension over its embedding dimension, as ``arch`` with ``overrides`` builds it."""
    built = _build(arch, overrides, conditions, what="the architecture")
    args = built.args
    ratios = {}
    for side in SIDES:
        embed, ffn = getattr(args, f"{side}_embed_dim", None), getattr(args, f"{side}_ffn_embed_dim", None)
        if not embed or not ffn:
            raise SearchError(f"--arch {arch}: has no {side} embedding/FFN dimensions to scale")
        ratios[side] = ffn / embed
    return ratios


def scaled_overrides(overrides: Sequence[str], width: int, ratios: Dict[str, float]) -> List[str]:
    out = list(overrides)
    for side in SIDES:
        out += [f"--{side}-embed-dim", str(width), f"--{side}-ffn-embed-dim", str(round(ratios[side] * width))]
    return out


def fitted_curve(measured: Sequence[WidthMeasurement]) -> Optional[Callable[[int], float]]:
    """``a + b w + c w^2`` fitted to the median latencies of every width timed, each residual relative to its
    latency (a noisy wide model does not outweigh the narrow ones); None for fewer than three widths."""
    if len({m.width for m in measured}) < 3:
        return None
    scale = float(max(m.width for m in measured))
    w = torch.tensor([m.width / scale for m in measured], dtype=torch.float64)
    y = torch.tensor([m.latency_ms for m in measured], dtype=torch.float64)
    basis = torch.stack([torch.ones_like(w), w, w * w], dim=1)
    coef = torch.linalg.lstsq(basis / y[:, None], torch.ones_like(y)[:, None]).solution.squeeze(1).tolist()
    return lambda width: coef[0] + coef[1] * (width / scale) + coef[2] * (width / scale) ** 2


def _build(arch: str, overrides: Sequence[str], conditions: Conditions, what: str):
    try:
        return build(arch, overrides, src_vocab=conditions.src_vocab, tgt_vocab=conditions.tgt_vocab)
    except ProfilerError as err:
        raise SearchError(f"cannot build {what} ({' '.join(['--arch', arch, *overrides])}): {err}") from None


def match_latency(arch: str, overrides: Sequence[str], target_ms: float, conditions: Conditions,
                  min_width: int = 64, max_width: int = 1024, multiple_of: int = 8,
                  log: Callable[[str], None] = lambda line: None) -> Match:
    """The width of ``arch`` whose latency on the curve fitted to every width timed is nearest ``target_ms``
    (by the measurements themselves when only two widths exist; see the module's description).
    Raises :class:`SearchError` when no width in the range brackets the target or a width cannot be built."""
    if not target_ms > 0:
        raise SearchError(f"--latency: expected a positive number of milliseconds, got {target_ms}")
    if multiple_of < 1 or min_width < 1 or max_width < min_width:
        raise SearchError(f"--min-width {min_width} / --max-width {max_width} / --multiple-of {multiple_of}: "
                          "need 1 <= min-width <= max-width and multiple-of >= 1")
    check_overrides(overrides)
    check_conditions(conditions)
    widths = list(range(-(-min_width // multiple_of) * multiple_of, max_width + 1, multiple_of))
    if len(widths) < 2:
        raise SearchError(f"--min-width {min_width} .. --max-width {max_width} holds fewer than two multiples of "
                          f"{multiple_of}; widen the range")
    ratios = ffn_ratios(arch, overrides, conditions)
    measured: Dict[int, WidthMeasurement] = {}

    def latency(i: int) -> float:
        width = widths[i]
        if width not in measured:
            options = scaled_overrides(overrides, width, ratios)
            built = _build(arch, options, conditions, what=f"width {width} (choose --multiple-of so that every "
                                                           "width suits the heads)")
            median, minimum = time_built(built, conditions)
            measured[width] = WidthMeasurement(width, median, minimum)
            log(f"width {width:5d}: {median:8.2f} ms (min {minimum:.2f})")
        return measured[width].latency_ms

    lo, hi = 0, len(widths) - 1
    if latency(lo) > target_ms:
        raise SearchError(f"--latency {target_ms:g}: even width {widths[lo]} takes {latency(lo):.2f} ms here; lower "
                          "--min-width (or the target is below what this architecture can reach)")
    if latency(hi) <= target_ms:
        raise SearchError(f"--latency {target_ms:g}: even width {widths[hi]} takes only {latency(hi):.2f} ms here; "
                          "raise --max-width")
    while hi - lo > 1:  # latency(lo) <= target < latency(hi)
        mid = (lo + hi) // 2
        if latency(mid) <= target_ms:
            lo = mid
        else:
            hi = mid
    curve = fitted_curve(list(measured.values()))
    if curve is None:
        best = min((lo, hi), key=lambda i: abs(latency(i) - target_ms))
    else:
        best = min(range(len(widths)), key=lambda i: abs(curve(widths[i]) - target_ms))
        latency(best)
    width = widths[best]
    return Match(arch, scaled_overrides(overrides, width, ratios), width, measured[width].latency_ms, target_ms,
                 conditions, list(measured.values()), None if curve is None else curve(width))
