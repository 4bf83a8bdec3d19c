"""The latency predictor of the hardware-aware search: fit on measurements, held-out error, reproducibility, and
the predictor file (weights_only loading, clear errors for a missing or damaged file)."""

import random

import pytest
import torch

from lite_fairseq.search.errors import SearchError
from lite_fairseq.search.predictor import fit_predictor, load_predictor

STEPS = 400  # full-batch steps; enough for the synthetic latencies below, a few seconds on one core


def synthetic_measurements(n=80, seed=0):
    """Encodings in [0, 1] as SearchSpace.encode gives, and a latency that grows with width and depth as a
    Transformer's does (a sum of per-layer costs, the product of width and FFN size among them)."""
    rng = random.Random(seed)
    features, latencies = [], []
    for _ in range(n):
        width, depth = rng.choice([0.5, 0.75, 1.0]), rng.choice([1 / 3, 2 / 3, 1.0])
        ffn = [rng.choice([0.25, 0.5, 1.0]) for _ in range(3)]
        layers = round(depth * 3)
        features.append([width, depth, *[f if i < layers else 0.0 for i, f in enumerate(ffn)]])
        latencies.append(2.0 + sum(4.0 * width + 3.0 * width * ffn[i] for i in range(layers)))
    return features, latencies


def test_the_predictor_fits_synthetic_latencies_within_5_percent_on_held_out_measurements():
    features, latencies = synthetic_measurements()
    predictor = fit_predictor(features, latencies, seed=3, steps=STEPS)
    report = predictor.report
    assert (report.heldout_rows, report.validation_rows, report.train_rows) == (16, 10, 54)
    assert report.heldout_mean_relative_error < 0.05, report.summary()
    predicted = predictor.predict_many(features)
    assert all(p > 0 for p in predicted)
    errors = [abs(p - y) / y for p, y in zip(predicted, latencies)]
    assert sum(errors) / len(errors) < 0.05


def test_the_same_seed_and_data_give_the_same_predictor_and_another_seed_another():
    features, latencies = synthetic_measurements()
    a = fit_predictor(features, latencies, seed=5, steps=50)
    b = fit_predictor(features, latencies, seed=5, steps=50)
    c = fit_predictor(features, latencies, seed=6, steps=50)
    for key, value in a.net.state_dict().items():
        assert torch.equal(value, b.net.state_dict()[key]), key
    assert a.predict_many(features) == b.predict_many(features)
    assert a.report == b.report
    assert a.predict_many(features) != c.predict_many(features)


def test_a_saved_predictor_loads_with_weights_only_and_predicts_the_same(tmp_path):
    features, latencies = synthetic_measurements(n=20)
    predictor = fit_predictor(features, latencies, seed=1, steps=20, space={"encoder_layers": [3, 4]},
                              meta={"conditions": {"device": "cpu", "threads": 1}})
    path = tmp_path / "lat.pt"
    predictor.save(path)
    torch.load(path, weights_only=True)  # plain tensors, numbers and strings only
    loaded = load_predictor(path)
    assert loaded.predict_many(features) == predictor.predict_many(features)
    assert loaded.space == {"encoder_layers": [3, 4]} and loaded.meta["conditions"]["threads"] == 1
    assert loaded.report == predictor.report


def test_an_encoding_of_the_wrong_length_is_refused_by_name():
    features, latencies = synthetic_measurements(n=20)
    predictor = fit_predictor(features, latencies, seed=1, steps=5)
    with pytest.raises(SearchError, match="expected encodings of 5 numbers"):
        predictor.predict([0.5, 0.5])


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    (b"not a torch file", "cannot read"),
    ("truncated", "cannot read"),
    ("other", "not a latency predictor file"),
])
def test_a_missing_or_damaged_predictor_file_gets_a_clear_error(tmp_path, content, message):
    path = tmp_path / "lat.pt"
    if content == "truncated":
        features, latencies = synthetic_measurements(n=10)
        fit_predictor(features, latencies, seed=1, steps=2).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif content == "other":
        torch.save({"model": torch.zeros(2)}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SearchError, match=message) as err:
        load_predictor(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("features,latencies,message", [
    ([[1.0], [2.0], [3.0]], [1.0, -1.0, 2.0], "positive finite"),
    ([[1.0], [2.0]], [1.0, 2.0, 3.0], "one encoding per measurement"),
    ([[1.0], [2.0]], [1.0, 2.0], "leave 1 to train on"),
])
def test_unusable_measurements_are_refused_with_the_reason(features, latencies, message):
    with pytest.raises(SearchError, match=message):
        fit_predictor(features, latencies, holdout=0.5, steps=1)


def test_early_stopping_keeps_the_weights_of_the_step_with_the_lowest_validation_error():
    features, latencies = synthetic_measurements()
    # noisy latencies: a long run learns the noise, the kept step is earlier than the last
    rng = random.Random(1)
    noisy = [ms * rng.uniform(0.8, 1.2) for ms in latencies]
    predictor = fit_predictor(features, noisy, seed=2, steps=1500, lr=3e-3)
    assert predictor.report.steps < 1500 and predictor.report.steps % 25 == 0


def test_latency_features_lie_in_0_1_and_grow_with_the_design():
    from lite_fairseq.search.features import latency_features
    from lite_fairseq.search.space import SearchSpace

    space = SearchSpace.default()
    rng = random.Random(0)
    designs = [space.largest(), space.smallest()] + [space.sample(rng) for _ in range(200)]
    rows = [latency_features(space, d) for d in designs]
    assert len({len(r) for r in rows}) == 1
    assert all(0.0 <= v <= 1.0 for r in rows for v in r)
    largest, smallest = rows[0], rows[1]
    assert all(a >= b for a, b in zip(largest, smallest)) and sum(largest) > sum(smallest)
