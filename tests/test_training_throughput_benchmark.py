"""benchmarks/training_throughput.py: runs a pair side by side and prints words/s and the ratio; bad input refused."""

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import training_throughput  # noqa: E402


def test_prints_words_per_second_and_ratio(capsys):
    training_throughput.main(["--pair", "lite_transformer_tiny=transformer_paper_wmt_128", "--steps", "1",
                              "--rounds", "1", "--warmup", "0", "--max-tokens", "64", "--vocab", "200"])
    out = capsys.readouterr().out
    lite = next(line for line in out.splitlines() if line.startswith("lite_transformer_tiny"))
    base = next(line for line in out.splitlines() if line.startswith("transformer_paper_wmt_128"))
    lite_wps, base_wps = float(lite.split()[3]), float(base.split()[3])
    assert lite_wps > 0 and base_wps > 0
    # the ratio column is Lite over Transformer (words/s are printed rounded, hence the tolerance)
    assert float(lite.split()[-1].rstrip("x")) == pytest.approx(lite_wps / base_wps, abs=0.01)


@pytest.mark.parametrize("argv,message", [
    (["--pair", "lite_transformer_tiny"], "LITE_ARCH=TRANSFORMER_ARCH"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--dtype", "float16"], "float16 needs --device cuda"),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        training_throughput.main(argv)
    assert message in capsys.readouterr().err
