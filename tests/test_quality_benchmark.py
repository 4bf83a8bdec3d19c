"""benchmarks/quality: the model pairs stay within 5% Mult-Adds, and prepare.sh stops clearly without its data."""

import importlib.util

import pytest

from helpers import BENCHMARKS, run

QUALITY = BENCHMARKS / "quality"


def _pairs():
    spec = importlib.util.spec_from_file_location("quality_pairs", QUALITY / "pairs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_budget_pairs_a_lite_and_a_transformer_within_five_percent():
    pairs = _pairs()
    counts = pairs.profile_all(None)
    for budget, (lite, base) in pairs.BUDGETS.items():
        assert counts[lite]["arch"].startswith("lite_transformer")
        assert counts[base]["arch"].startswith("transformer")
        a, b = counts[lite]["macs"], counts[base]["macs"]
        assert abs(a - b) <= 0.05 * max(a, b), (budget, a, b)
        nominal = float(budget.rstrip("M")) * 1e6
        assert 0.85 * nominal <= a <= 1.15 * nominal, (budget, a)


def test_a_drifting_pair_is_refused(monkeypatch):
    pairs = _pairs()
    monkeypatch.setitem(pairs.MODELS, "lite_d120", pairs._lite(160))
    with pytest.raises(SystemExit, match="more than 5% apart"):
        pairs.profile_all(None)


def test_prepare_fails_clearly_without_the_raw_corpus(tmp_path):
    proc = run(["bash", QUALITY / "prepare.sh", tmp_path / "missing", tmp_path / "w"], timeout=60, check=False)
    assert proc.returncode == 1
    assert "train.de is missing" in proc.stderr and "QUALITY_RAW" in proc.stderr
    assert not (tmp_path / "w").exists()
