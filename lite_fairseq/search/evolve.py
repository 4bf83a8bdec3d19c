"""HAT's evolutionary search under a latency limit, over any design space.

The space is any object with ``sample(rng)``, ``mutate(cfg, prob, rng)`` and ``crossover(a, b, rng)``
(:class:`lite_fairseq.search.space.SearchSpace` is one); a design's predicted latency and its fitness (lower is
better, e.g. a validation loss) come from two callables.

As in HAT (Wang et al., ACL 2020; defaults from its ``evo_search.py``): a population of ``population`` designs
sampled at random, each predicted within the limit; every iteration keeps the ``parents`` fittest, adds
``mutations`` mutants of random parents (each gene re-drawn with probability ``mutation_prob``) and ``crossovers``
children of two distinct random parents (each gene from either), every one predicted within the limit, and repeats
``iterations`` times. A design's fitness is computed once and remembered (HAT re-validates surviving parents).

A limit that no design can meet is found before the search starts: if the space has a smallest design
(``smallest()``) predicted over the limit, or ``max_tries`` random samples in a row are all over it, the search
stops with a :class:`SearchError` naming the limit and the smallest predicted latency.
"""

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import SearchError

# HAT's defaults (evo_search.py): --population-size 125 --parent-size 25 --mutation-size 50 --crossover-size 50
# --mutation-prob 0.3 --evo-iter 30
POPULATION = 125
PARENTS = 25
MUTATIONS = 50
CROSSOVERS = 50
MUTATION_PROB = 0.3
ITERATIONS = 30
MAX_TRIES = 10000


@dataclass
class EvolutionSettings:
    population: int = POPULATION
    parents: int = PARENTS
    mutations: int = MUTATIONS
    crossovers: int = CROSSOVERS
    mutation_prob: float = MUTATION_PROB
    iterations: int = ITERATIONS
    max_tries: int = MAX_TRIES  # draws in a row that may all miss the limit before the search gives up

    def check(self) -> None:
        for name in ("population", "parents", "iterations", "max_tries"):
            if getattr(self, name) < 1:
                raise SearchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("mutations", "crossovers"):
            if getattr(self, name) < 0:
                raise SearchError(f"--{name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.mutation_prob <= 1.0:
            raise SearchError(f"--mutation-prob must be between 0 and 1, got {self.mutation_prob}")
        if self.parents > self.population:
            raise SearchError(f"--parents {self.parents} is more than --population {self.population}")
        if self.crossovers and self.parents < 2:
            raise SearchError("--crossovers needs at least 2 --parents")


@dataclass
class Candidate:
    config: Any
    fitness: float
    latency_ms: float  # predicted


@dataclass
class SearchResult:
    best: Candidate
    history: List[Dict[str, float]] = field(default_factory=list)  # per iteration: best and mean parent fitness
    evaluated: int = 0  # distinct designs whose fitness was computed
    predicted: int = 0  # latency predictions made (every candidate drawn, kept or not)


def _key(config) -> str:
    try:
        return json.dumps(config, sort_keys=True, default=lambda o: getattr(o, "__dict__", repr(o)))
    except (TypeError, ValueError):
        return repr(config)


class Evolution:
    """One search; :meth:`run` returns the fittest design found within the limit."""

    def __init__(self, space, fitness: Callable[[Any], float], predict_ms: Callable[[Any], float],
                 latency_limit_ms: float, settings: Optional[EvolutionSettings] = None,
                 rng: Optional[random.Random] = None, log: Callable[[str], None] = lambda line: None):
        if not isinstance(latency_limit_ms, (int, float)) or not math.isfinite(latency_limit_ms) \
                or latency_limit_ms <= 0:
            raise SearchError(f"--latency-limit must be a positive number of milliseconds, got {latency_limit_ms}")
        self.space, self.fitness_fn, self.predict_fn = space, fitness, predict_ms
        self.limit = float(latency_limit_ms)
        self.settings = settings or EvolutionSettings()
        self.settings.check()
        self.rng = rng or random.Random(1)
        self.log = log
        self._fitness: Dict[str, float] = {}
        self._latency: Dict[str, float] = {}
        self.predicted = 0
        self.lowest_seen = math.inf

    def latency(self, config) -> float:
        key = _key(config)
        if key not in self._latency:
            self._latency[key] = float(self.predict_fn(config))
            self.predicted += 1
        value = self._latency[key]
        self.lowest_seen = min(self.lowest_seen, value)
        return value

    def fits(self, config) -> bool:
        return self.latency(config) <= self.limit

    def fitness(self, config) -> float:
        key = _key(config)
        if key not in self._fitness:
            self._fitness[key] = float(self.fitness_fn(config))
        return self._fitness[key]

    def _impossible(self, what: str) -> SearchError:
        smallest = getattr(self.space, "smallest", None)
        lowest = self.lowest_seen
        if callable(smallest):
            lowest = min(lowest, self.latency(smallest()))
        return SearchError(f"--latency-limit {self.limit:g} ms: {what}; the smallest predicted latency is "
                           f"{lowest:.3g} ms. Raise the limit, or search a space with smaller designs.")

    def check_limit(self) -> None:
        """Fail at once when the space's smallest design is predicted over the limit."""
        smallest = getattr(self.space, "smallest", None)
        if callable(smallest) and not self.fits(smallest()):
            raise self._impossible("no design of the space is predicted within it")

    def _draw(self, make: Callable[[], Any], what: str) -> Any:
        for _ in range(self.settings.max_tries):
            config = make()
            if self.fits(config):
                return config
        raise self._impossible(f"{self.settings.max_tries} {what} in a row were all predicted over it")

    def initial_population(self) -> List[Any]:
        return [self._draw(lambda: self.space.sample(self.rng), "random designs")
                for _ in range(self.settings.population)]

    def next_generation(self, parents: List[Any]) -> List[Any]:
        s = self.settings
        mutants = [self._draw(lambda: self.space.mutate(self.rng.choice(parents), s.mutation_prob, self.rng),
                              "mutants") for _ in range(s.mutations)]
        children = [self._draw(lambda: self.space.crossover(*self.rng.sample(parents, 2), self.rng),
                               "crossover children") for _ in range(s.crossovers)]
        return list(parents) + mutants + children

    def run(self) -> SearchResult:
        self.check_limit()
        population = self.initial_population()
        history: List[Dict[str, float]] = []
        best: Optional[Tuple[float, Any]] = None
        for iteration in range(self.settings.iterations):
            scored = sorted(((self.fitness(c), i) for i, c in enumerate(population)), key=lambda t: t[0])
            parents = [population[i] for _, i in scored[:self.settings.parents]]
            parent_scores = [s for s, _ in scored[:self.settings.parents]]
            if best is None or parent_scores[0] < best[0]:
                best = (parent_scores[0], parents[0])
            history.append({"iteration": iteration, "best_fitness": parent_scores[0],
                            "mean_parent_fitness": sum(parent_scores) / len(parent_scores),
                            "best_latency_ms": self.latency(parents[0])})
            self.log(f"iteration {iteration + 1}/{self.settings.iterations}: best fitness {parent_scores[0]:.4f}, "
                     f"predicted latency {self.latency(parents[0]):.2f} ms (limit {self.limit:g}), "
                     f"{len(self._fitness)} designs evaluated")
            if iteration + 1 < self.settings.iterations:
                population = self.next_generation(parents)
        assert best is not None
        winner = Candidate(best[1], best[0], self.latency(best[1]))
        return SearchResult(winner, history, evaluated=len(self._fitness), predicted=self.predicted)


def evolve(space, fitness: Callable[[Any], float], predict_ms: Callable[[Any], float],
           latency_limit_ms: float, settings: Optional[EvolutionSettings] = None, seed: int = 1,
           log: Callable[[str], None] = lambda line: None) -> SearchResult:
    """Run :class:`Evolution` with a ``random.Random(seed)``."""
    return Evolution(space, fitness, predict_ms, latency_limit_ms, settings, random.Random(seed), log).run()
