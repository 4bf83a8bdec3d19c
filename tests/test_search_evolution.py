"""HAT's evolutionary search over a small fake design space: every candidate is predicted within the latency
limit, the fitness improves over random designs, and a limit no design meets stops the search at once."""

import random

import pytest

from lite_fairseq.search.errors import SearchError
from lite_fairseq.search.evolve import Evolution, EvolutionSettings, evolve

CHOICES = (1, 2, 3, 4, 5, 6, 7, 8)
GENES = 6


class ToySpace:
    """A design is a tuple of GENES integers; its 'latency' is their sum, its fitness prefers large genes (as a
    validation loss prefers large models), so the best design within a limit spends the limit in full."""

    def sample(self, rng):
        return tuple(rng.choice(CHOICES) for _ in range(GENES))

    def mutate(self, cfg, prob, rng):
        return tuple(rng.choice(CHOICES) if rng.random() < prob else g for g in cfg)

    def crossover(self, a, b, rng):
        return tuple(x if rng.random() < 0.5 else y for x, y in zip(a, b))

    def smallest(self):
        return (min(CHOICES),) * GENES


def toy_latency(cfg):
    return float(sum(cfg))


def toy_fitness(cfg):
    # lower is better; the weights make some genes worth more, so the search must choose where to spend
    return -sum(w * g for w, g in zip((3, 1, 2, 1, 3, 1), cfg))


SMALL = EvolutionSettings(population=20, parents=5, mutations=8, crossovers=7, mutation_prob=0.3, iterations=12)


def test_every_candidate_whose_fitness_is_computed_is_predicted_within_the_limit():
    limit = 24.0
    seen = []

    def fitness(cfg):
        seen.append(cfg)
        return toy_fitness(cfg)

    result = evolve(ToySpace(), fitness, toy_latency, limit, SMALL, seed=2)
    assert len(seen) > SMALL.population  # new designs were bred, not just the first population
    assert all(toy_latency(c) <= limit for c in seen)
    assert result.best.latency_ms <= limit and result.best.config in seen


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_search_improves_the_fitness_over_the_random_first_population(seed):
    settings = EvolutionSettings(population=30, parents=8, mutations=11, crossovers=11, iterations=15)
    result = evolve(ToySpace(), toy_fitness, toy_latency, 24.0, settings, seed=seed)
    history = [h["best_fitness"] for h in result.history]
    assert len(history) == settings.iterations
    assert all(b <= a for a, b in zip(history, history[1:]))  # the parents survive: the best never gets worse
    assert history[-1] < history[0]
    # the optimum within the limit is -61 (8 on both weight-3 genes, 5 on the weight-2 gene, 1 elsewhere);
    # the search ends within 5 of it
    assert history[-1] <= -56, history


def test_the_same_seed_gives_the_same_search():
    a = evolve(ToySpace(), toy_fitness, toy_latency, 24.0, SMALL, seed=9)
    b = evolve(ToySpace(), toy_fitness, toy_latency, 24.0, SMALL, seed=9)
    assert a.best.config == b.best.config and a.history == b.history


def test_each_design_is_evaluated_once():
    calls = []
    evolve(ToySpace(), lambda c: calls.append(c) or toy_fitness(c), toy_latency, 24.0, SMALL, seed=1)
    assert len(calls) == len(set(calls))


def test_a_limit_below_the_smallest_design_stops_at_once_naming_the_limit_and_the_smallest_latency():
    calls = []
    with pytest.raises(SearchError, match=r"--latency-limit 5 ms: no design of the space is predicted within it; "
                                          r"the smallest predicted latency is 6 ms"):
        evolve(ToySpace(), lambda c: calls.append(c) or 0.0, toy_latency, 5.0, SMALL)
    assert not calls


def test_a_space_without_smallest_gives_up_after_max_tries_with_the_same_message():
    class NoSmallest(ToySpace):
        smallest = None

    settings = EvolutionSettings(population=4, parents=2, mutations=1, crossovers=1, iterations=1, max_tries=50)
    with pytest.raises(SearchError, match=r"--latency-limit 5 ms: 50 random designs in a row were all predicted "
                                          r"over it; the smallest predicted latency is \d+ ms"):
        evolve(NoSmallest(), toy_fitness, toy_latency, 5.0, settings)


@pytest.mark.parametrize("limit", [0.0, -1.0, float("nan"), float("inf")])
def test_a_limit_that_is_not_a_positive_number_is_refused(limit):
    with pytest.raises(SearchError, match="--latency-limit must be a positive number"):
        Evolution(ToySpace(), toy_fitness, toy_latency, limit, SMALL, random.Random(0))


@pytest.mark.parametrize("change,message", [
    ({"parents": 30}, "--parents 30 is more than --population 20"),
    ({"mutation_prob": 1.5}, "--mutation-prob must be between 0 and 1"),
    ({"iterations": 0}, "--iterations must be at least 1"),
    ({"mutations": -1}, "--mutations must not be negative"),
])
def test_bad_settings_are_refused_by_name(change, message):
    settings = EvolutionSettings(**{**vars(SMALL), **change})
    with pytest.raises(SearchError, match=message):
        Evolution(ToySpace(), toy_fitness, toy_latency, 24.0, settings)


def test_hats_defaults():
    s = EvolutionSettings()
    assert (s.population, s.parents, s.mutations, s.crossovers, s.mutation_prob, s.iterations) == \
        (125, 25, 50, 50, 0.3, 30)
