"""benchmarks/training_throughput.py: runs a pair side by side and prints words/s and the ratio; bad input refused."""

import re

import pytest

import training_throughput  # benchmarks/, importable through tests/helpers.py


def test_prints_words_per_second_and_ratio(capsys):
    training_throughput.main(["--pair", "lite_transformer_tiny=transformer_paper_wmt_128", "--steps", "1",
                              "--rounds", "1", "--warmup", "0", "--max-tokens", "64", "--vocab", "200"])
    out = capsys.readouterr().out
    lite = next(line for line in out.splitlines() if line.startswith("lite_transformer_tiny"))
    base = next(line for line in out.splitlines() if line.startswith("transformer_paper_wmt_128"))
    lite_wps, base_wps = float(lite.split()[3]), float(base.split()[3])
    assert lite_wps > 0 and base_wps > 0
    # the ratio columns are Lite over Transformer, within what the rounding of the printed figures allows
    _assert_ratio_of_rounded(float(lite.split()[-2].rstrip("x")), lite_wps, base_wps, 0.5)
    lite_gmas, base_gmas = float(lite.split()[5]), float(base.split()[5])
    _assert_ratio_of_rounded(float(lite.split()[-1].rstrip("x")), lite_gmas, base_gmas, 0.005)
    # one round: its own ratio is the whole run's, and the range is that one ratio
    by_round = next(line for line in out.splitlines() if "lite_transformer_tiny / transformer_paper_wmt_128" in line)
    median, low, high = (float(x) for x in re.findall(r"(\d+\.\d+)", by_round))
    assert median == low == high == float(lite.split()[-1].rstrip("x"))


def _assert_ratio_of_rounded(ratio, lite, base, half_unit):
    low, high = max(lite - half_unit, 0) / (base + half_unit), (lite + half_unit) / max(base - half_unit, 1e-9)
    assert low - 0.005 <= ratio <= high + 0.005


def test_iwslt_adds_the_three_iwslt_budgets():
    pairs = training_throughput.DEFAULT_PAIRS + training_throughput.IWSLT_PAIRS
    assert [lite for lite, _ in pairs][3:] == ["lite_transformer_iwslt_de_en_160", "lite_transformer_iwslt_de_en_240",
                                              "lite_transformer_iwslt_de_en_320"]


@pytest.mark.parametrize("argv,message", [
    (["--pair", "lite_transformer_tiny"], "LITE_ARCH=TRANSFORMER_ARCH"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--dtype", "float16"], "float16 needs --device cuda"),
    (["--no-wmt"], "--no-wmt leaves nothing to compare"),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        training_throughput.main(argv)
    assert message in capsys.readouterr().err
