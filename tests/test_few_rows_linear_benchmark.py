"""benchmarks/few_rows_linear.py: every layout is timed over the decoder step's own weights and the table names the
layout few_rows_linear uses at each row count (the timings themselves come from real runs, see RESULTS.md)."""

import pytest

import few_rows_linear as bench  # benchmarks/, importable through tests/helpers.py
from lite_fairseq.kernels import linear_cpu


def test_table_times_each_layout_per_row_count_and_names_the_one_used(capsys):
    bench.main(["--arch", "lite_transformer_tiny", "--vocab", "50", "--rows", "1", "3", "4", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "lite_transformer_tiny:" in out and "weight matrices" in out
    rows = {int(s.split()[0]): s.split() for s in out.splitlines() if s.strip()[:1].isdigit()}
    assert sorted(rows) == [1, 3, 4]
    for count, cells in rows.items():
        assert cells[-1] == (linear_cpu.layout_for(count) or "F.linear")
        assert float(cells[1]) > 0  # F.linear's time


@pytest.mark.parametrize("argv", [["--rows", "0"], ["--rounds", "0"], ["--vocab", "3"]])
def test_bad_options_are_refused_by_name(argv, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert "--" in capsys.readouterr().err
