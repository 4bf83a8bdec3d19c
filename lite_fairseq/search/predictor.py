"""Latency predictor: a small MLP over a design's architecture encoding, as HAT fits one (Wang et al., ACL 2020).

HAT measures a few hundred sampled SubTransformers on the target device and fits a multilayer perceptron (three
hidden layers of 400 units, ReLU) that maps the architecture encoding to the latency; the search then asks the
predictor instead of the device. Here:

* features are divided by their largest absolute value over the training rows (they are then within [-1, 1], as
  HAT divides by fixed norms), the target is the logarithm of the latency (so the squared error is, to first order,
  the squared relative error, and a prediction is never negative);
* a seeded permutation holds out ``holdout`` of the measurements for the reported error, and ``validation`` of the
  rest for early stopping: the MLP is trained full-batch with Adam for up to ``steps`` steps on the others and the
  weights of the step with the lowest validation error are kept (with a few hundred noisy measurements a 400-wide
  MLP otherwise learns the noise); the mean relative error ``|predicted - measured| / measured`` on the held-out
  rows is reported;
* everything random (the split, the initial weights) comes from ``seed``, and the training runs on one thread:
  the same seed and data give the same predictor, bit for bit, on the same machine;
* :meth:`LatencyPredictor.save` writes the weights, the normalisation and a caller's description of the design
  space (e.g. the space as a dict) into one file of plain tensors, numbers and strings, which
  :func:`load_predictor` reads with ``weights_only=True``.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import nn

from .errors import SearchError

FORMAT = "lite_fairseq.search.predictor/1"
HIDDEN_DIM = 400
HIDDEN_LAYERS = 3


def mlp(feature_dim: int, hidden_dim: int = HIDDEN_DIM, hidden_layers: int = HIDDEN_LAYERS) -> nn.Sequential:
    """``feature_dim -> hidden_dim`` then ``hidden_layers - 1`` more ``hidden_dim`` layers (ReLU), then one output."""
    if feature_dim < 1 or hidden_dim < 1 or hidden_layers < 1:
        raise SearchError(f"latency predictor: feature_dim, hidden_dim and hidden_layers must be positive, got "
                          f"{feature_dim}, {hidden_dim}, {hidden_layers}")
    layers: List[nn.Module] = []
    width = feature_dim
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_dim), nn.ReLU()]
        width = hidden_dim
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


@dataclass
class FitReport:
    """How well the predictor fits: mean (and largest) relative error on the held-out and the training rows."""
    train_rows: int
    heldout_rows: int
    heldout_mean_relative_error: float
    heldout_max_relative_error: float
    train_mean_relative_error: float
    steps: int  # the step whose weights were kept
    seed: int
    validation_rows: int = 0

    def summary(self) -> str:
        held = (f"mean relative error on {self.heldout_rows} held-out measurements "
                f"{100 * self.heldout_mean_relative_error:.2f}% (largest {100 * self.heldout_max_relative_error:.2f}%)"
                if self.heldout_rows else "no held-out measurements (--holdout 0)")
        return (f"latency predictor: {held}; on the {self.train_rows} training measurements "
                f"{100 * self.train_mean_relative_error:.2f}% (weights of Adam step {self.steps}, the lowest error "
                f"on {self.validation_rows} validation measurements; seed {self.seed})")


class LatencyPredictor:
    """An MLP with its feature normalisation; :meth:`predict` maps encodings to milliseconds."""

    def __init__(self, net: nn.Sequential, mean: torch.Tensor, scale: torch.Tensor, space: Any = None,
                 report: Optional[FitReport] = None, meta: Optional[Dict[str, Any]] = None):
        self.net, self.mean, self.scale = net.eval(), mean, scale
        self.space = space  # whatever describes the design space (plain data), saved with the predictor
        self.report = report
        self.meta = dict(meta or {})  # plain data saved alongside, e.g. the measuring conditions

    @property
    def feature_dim(self) -> int:
        return self.mean.numel()

    def _inputs(self, features) -> torch.Tensor:
        x = torch.as_tensor(features, dtype=torch.float32)
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.size(1) != self.feature_dim:
            raise SearchError(f"latency predictor: expected encodings of {self.feature_dim} numbers, got shape "
                              f"{tuple(x.shape)} (was the predictor trained on another design space?)")
        return (x - self.mean) / self.scale

    @torch.no_grad()
    def predict_many(self, features: Sequence[Sequence[float]]) -> List[float]:
        """Predicted milliseconds of each encoding."""
        return torch.exp(self.net(self._inputs(features)).squeeze(1)).tolist()

    def predict(self, features: Sequence[float]) -> float:
        """Predicted milliseconds of one encoding."""
        return self.predict_many([features])[0]

    def save(self, path) -> None:
        hidden = [m for m in self.net if isinstance(m, nn.Linear)]
        torch.save({"format": FORMAT, "state_dict": self.net.state_dict(), "mean": self.mean, "scale": self.scale,
                    "hidden_dim": hidden[0].out_features, "hidden_layers": len(hidden) - 1, "space": self.space,
                    "report": None if self.report is None else vars(self.report), "meta": self.meta}, path)


def _relative_errors(predicted: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    return (predicted - measured).abs() / measured


def _split(n: int, holdout: float, validation: float, seed: int):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_held = int(round(holdout * n))
    n_valid = int(round(validation * (n - n_held)))
    if n - n_held - n_valid < 2:
        raise SearchError(f"latency predictor: {n} measurements leave {n - n_held - n_valid} to train on; measure "
                          "more designs (--samples) or hold out fewer (--holdout)")
    return order[:n_held], order[n_held:n_held + n_valid], order[n_held + n_valid:]


def fit_predictor(features: Sequence[Sequence[float]], latencies_ms: Sequence[float], seed: int = 1,
                  holdout: float = 0.2, validation: float = 0.15, steps: int = 2000, lr: float = 1e-3,
                  hidden_dim: int = HIDDEN_DIM, hidden_layers: int = HIDDEN_LAYERS, space: Any = None,
                  meta: Optional[Dict[str, Any]] = None, check_every: int = 25) -> LatencyPredictor:
    """Fit the MLP on ``features`` (one encoding per measurement) -> ``latencies_ms``; the returned predictor's
    ``report`` gives the held-out error. Raises :class:`SearchError` on unusable data."""
    x = torch.as_tensor([list(map(float, f)) for f in features], dtype=torch.float32)
    y = torch.as_tensor(list(map(float, latencies_ms)), dtype=torch.float32)
    if x.dim() != 2 or x.size(0) != y.numel() or x.size(0) == 0:
        raise SearchError(f"latency predictor: need one encoding per measurement, got {x.size(0)} encodings of "
                          f"shape {tuple(x.shape)} and {y.numel()} latencies")
    if not bool(torch.isfinite(x).all()) or not bool(torch.isfinite(y).all()) or bool((y <= 0).any()):
        raise SearchError("latency predictor: every latency must be a positive finite number of milliseconds and "
                          "every encoding finite")
    for name, value in (("--holdout", holdout), ("validation", validation)):
        if not 0.0 <= value < 1.0:
            raise SearchError(f"{name} must be in [0, 1), got {value}")
    if steps < 1:
        raise SearchError(f"--steps must be positive, got {steps}")
    held, valid, train = _split(x.size(0), holdout, validation, seed)
    largest = x[train].abs().max(0).values
    mean, scale = torch.zeros(x.size(1)), torch.where(largest > 0, largest, torch.ones_like(largest))
    xn, target = (x - mean) / scale, torch.log(y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = mlp(x.size(1), hidden_dim, hidden_layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    watched = valid if valid.numel() else train
    best_error, best_state, best_step = math.inf, None, 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few hundred rows: one thread is fastest, and the result does not depend on the count
    try:
        for step in range(1, steps + 1):
            net.train()
            optimizer.zero_grad()
            loss = torch.mean((net(xn[train]).squeeze(1) - target[train]) ** 2)
            loss.backward()
            optimizer.step()
            if step % check_every == 0 or step == steps:
                with torch.no_grad():
                    error = float(torch.mean((net(xn[watched]).squeeze(1) - target[watched]) ** 2))
                if error < best_error:
                    best_error, best_step = error, step
                    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    finally:
        torch.set_num_threads(threads)
    net.load_state_dict(best_state)
    net.eval()
    with torch.no_grad():
        predicted = torch.exp(net(xn).squeeze(1))
    train_err = _relative_errors(predicted[train], y[train])
    held_err = _relative_errors(predicted[held], y[held]) if held.numel() else torch.zeros(0)
    report = FitReport(train_rows=train.numel(), heldout_rows=held.numel(),
                       heldout_mean_relative_error=float(held_err.mean()) if held.numel() else math.nan,
                       heldout_max_relative_error=float(held_err.max()) if held.numel() else math.nan,
                       train_mean_relative_error=float(train_err.mean()), steps=best_step, seed=seed,
                       validation_rows=valid.numel())
    return LatencyPredictor(net, mean, scale, space=space, report=report, meta=meta)


def load_predictor(path) -> LatencyPredictor:
    """Read a file written by :meth:`LatencyPredictor.save` (``weights_only=True``); :class:`SearchError` names the
    file and what is wrong with it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SearchError(f"--predictor: no such file {str(path)!r} (train one with `lite-fairseq-search latency` "
                          "or `lite-fairseq-search predictor`)") from None
    except IsADirectoryError:
        raise SearchError(f"--predictor: {str(path)!r} is a directory, not a predictor file") from None
    except Exception as err:  # truncated, not a torch file, or holding objects weights_only refuses
        raise SearchError(f"--predictor: cannot read {str(path)!r} as a latency predictor "
                          f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}); "
                          "write it again with `lite-fairseq-search predictor`") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SearchError(f"--predictor: {str(path)!r} is not a latency predictor file of this version (expected "
                          f"format {FORMAT!r})")
    try:
        mean, scale = state["mean"], state["scale"]
        net = mlp(mean.numel(), int(state["hidden_dim"]), int(state["hidden_layers"]))
        net.load_state_dict(state["state_dict"])
        report = FitReport(**state["report"]) if state.get("report") else None
    except Exception as err:
        raise SearchError(f"--predictor: {str(path)!r} is damaged ({type(err).__name__}: {err})") from None
    return LatencyPredictor(net, mean, scale, space=state.get("space"), report=report, meta=state.get("meta"))
