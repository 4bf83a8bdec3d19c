"""The winner of a search, as a user takes it away: its design (JSON), the ``fairseq-train`` command that trains it
from scratch as a plain ``lite_transformer``, its Mult-Adds and parameters (the profiler's count) and its latency,
predicted and measured once under the predictor's measuring conditions."""

import json
import shlex
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from lite_fairseq.profiler import profile_model

from .latency import Conditions, arch_and_overrides, build_plain, measure
from .space import SearchSpace, SubConfig

# The README's training recipe; the architecture options come before it.
DEFAULT_RECIPE = ("--optimizer adam --adam-betas '(0.9, 0.98)' --lr 5e-4 --lr-scheduler inverse_sqrt "
                  "--warmup-updates 4000 --criterion label_smoothed_cross_entropy --label-smoothing 0.1 "
                  "--max-tokens 4096 --save-dir ckpt")


def train_command(sub: SubConfig, space: SearchSpace, data: str, recipe: str = DEFAULT_RECIPE) -> str:
    """``fairseq-train DATA --user-dir lite_fairseq --arch lite_transformer ... RECIPE``, shell-quoted."""
    arch, overrides = arch_and_overrides(sub, space)
    words = ["fairseq-train", data, "--user-dir", "lite_fairseq", "--arch", arch, *overrides]
    return " ".join(shlex.quote(w) for w in words) + (f" {recipe}" if recipe else "")


@dataclass
class WinnerReport:
    config: Dict
    fitness: float  # validation loss with the SuperTransformer's weights (base 2)
    predicted_ms: float
    measured_ms: Optional[float]
    latency_limit_ms: float
    macs: int
    params: int
    params_without_embeddings: int
    command: str
    conditions: Dict
    evaluated: int
    history: List[Dict[str, float]]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    def summary(self) -> str:
        c = self.conditions
        measured = "not measured" if self.measured_ms is None else f"measured {self.measured_ms:.2f} ms"
        return "\n".join([
            f"winner: validation loss {self.fitness:.4f} (base 2, SuperTransformer weights; {self.evaluated} designs "
            f"evaluated)",
            f"  latency: predicted {self.predicted_ms:.2f} ms, {measured} (limit {self.latency_limit_ms:g} ms; "
            f"{c['device']}, {c['threads']} thread(s), beam {c['beam']}, {c['src_len']}-token source, {c['steps']} "
            "decoder steps)",
            f"  Mult-Adds {self.macs / 1e6:.1f}M, parameters {self.params / 1e6:.2f}M "
            f"({self.params_without_embeddings / 1e6:.2f}M without embeddings and output projection)",
            "  train it from scratch:",
            f"    {self.command}"])


def winner_report(sub: SubConfig, space: SearchSpace, fitness: float, predicted_ms: float, limit_ms: float,
                  conditions: Conditions, data: str, evaluated: int = 0,
                  history: Sequence[Dict[str, float]] = (), measure_latency: bool = True,
                  recipe: str = DEFAULT_RECIPE) -> WinnerReport:
    built = build_plain(sub, space, conditions.src_vocab, conditions.tgt_vocab)
    counted = profile_model(built, conditions.src_len, conditions.steps)
    measured = measure([sub], space, conditions)[0].latency_ms if measure_latency else None
    return WinnerReport(config=sub.to_dict(), fitness=fitness, predicted_ms=predicted_ms, measured_ms=measured,
                        latency_limit_ms=limit_ms, macs=counted.macs, params=counted.params,
                        params_without_embeddings=counted.params_without_embeddings,
                        command=train_command(sub, space, data, recipe), conditions=asdict(conditions),
                        evaluated=evaluated, history=list(history))
