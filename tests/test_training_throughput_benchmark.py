"""benchmarks/training_throughput.py: runs a pair side by side and prints words/s and the ratio; bad input refused."""

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
    # the ratio column is Lite over Transformer, computed before words/s are rounded to whole numbers for printing
    # (on a slow machine a tiny model prints a few words/s, so the bound comes from that rounding), printed to 0.01
    ratio = float(lite.split()[-1].rstrip("x"))
    low, high = (lite_wps - 0.5) / (base_wps + 0.5), (lite_wps + 0.5) / max(base_wps - 0.5, 1e-9)
    assert low - 0.005 <= ratio <= high + 0.005, (ratio, lite_wps, base_wps)


@pytest.mark.parametrize("argv,message", [
    (["--pair", "lite_transformer_tiny"], "LITE_ARCH=TRANSFORMER_ARCH"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--dtype", "float16"], "float16 needs --device cuda"),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        training_throughput.main(argv)
    assert message in capsys.readouterr().err
