"""lite-fairseq-search's command line without a trained SuperTransformer: the design space and samples, the
measurements file, fitting the predictor from it, and bad input answered with one clear line and exit code 2."""

import json
import random
import sys

import pytest

from helpers import run
from lite_fairseq.search.cli import main
from lite_fairseq.search.errors import SearchError
from lite_fairseq.search.features import FEATURES, latency_features
from lite_fairseq.search.latency import Conditions, Measurement, read_measurements, write_measurements
from lite_fairseq.search.space import SearchSpace, SubConfig


def run_main(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def fake_measurements(space, n=24, seed=0):
    """Designs of ``space`` with a made-up latency that grows with their size (no model is timed)."""
    rng = random.Random(seed)
    designs = [space.largest(), space.smallest()] + [space.sample(rng) for _ in range(n - 2)]
    return [Measurement(d, 1.0 + 10.0 * sum(space.encode(d)) / len(space.encode(d)), 1.0) for d in designs]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_measurements_round_trip_through_json_and_csv(tmp_path, suffix):
    space = SearchSpace.default()
    measured = fake_measurements(space, n=6)
    conditions = Conditions(threads=2, beam=4, src_vocab=123, tgt_vocab=456)
    path = tmp_path / f"lat{suffix}"
    write_measurements(path, measured, space, conditions)
    back, back_space, back_conditions = read_measurements(path)
    assert [m.config for m in back] == [m.config for m in measured]
    assert [m.latency_ms for m in back] == pytest.approx([m.latency_ms for m in measured], rel=1e-5)
    assert back_space == space and back_conditions == conditions


def test_the_predictor_command_fits_a_predictor_from_a_measurements_file(tmp_path, capsys):
    space = SearchSpace.default()
    lat = tmp_path / "lat.json"
    write_measurements(lat, fake_measurements(space, n=30), space, Conditions())
    rc, out, err = run_main(capsys, "predictor", "--measurements", lat, "--out", tmp_path / "lat.pt", "--steps", 200)
    assert rc == 0, err
    assert "mean relative error on 6 held-out measurements" in out
    from lite_fairseq.search.predictor import load_predictor

    predictor = load_predictor(tmp_path / "lat.pt")
    assert SearchSpace.from_dict(predictor.space) == space
    assert predictor.meta["features"] == FEATURES
    largest, smallest = (latency_features(space, c) for c in (space.largest(), space.smallest()))
    assert predictor.predict(largest) > predictor.predict(smallest)


def test_space_and_sample_print_a_space_and_valid_designs(tmp_path, capsys):
    rc, _, _ = run_main(capsys, "space", "--out", tmp_path / "space.json")
    assert rc == 0 and SearchSpace.from_file(tmp_path / "space.json") == SearchSpace.default()
    rc, out, _ = run_main(capsys, "sample", "--space", tmp_path / "space.json", "-n", 2, "--seed", 3)
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 4
    assert SearchSpace.default().contains(SubConfig.from_json(lines[0]))
    assert lines[1].split()[:2] == ["--arch", "lite_transformer"]


def _predictor(tmp_path, capsys):
    space = SearchSpace.default()
    lat = tmp_path / "lat.json"
    write_measurements(lat, fake_measurements(space, n=20), space, Conditions())
    assert run_main(capsys, "predictor", "--measurements", lat, "--out", tmp_path / "p.pt", "--steps", 100)[0] == 0
    return tmp_path / "p.pt"


def test_a_limit_no_design_meets_stops_before_loading_the_supertransformer(tmp_path, capsys):
    predictor = _predictor(tmp_path, capsys)
    rc, out, err = run_main(capsys, "evolve", tmp_path, "--super", tmp_path / "never-read.pt", "--predictor",
                            predictor, "--latency-limit", 0.01)
    assert rc == 2, out
    assert err.startswith("lite-fairseq-search: error: --latency-limit 0.01 ms: no design of the space is "
                          "predicted within it; the smallest predicted latency is "), err
    assert len(err.strip().splitlines()) == 1


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize("make_argv,message", [
    (lambda t: ["sample", "--space", _write(t / "s.json", "{not json")], "cannot be parsed"),
    (lambda t: ["sample", "--space", _write(t / "s.json", '{"encoder_layers": []}')],
     "'encoder_layers': expected a non-empty list"),
    (lambda t: ["sample", "--space", _write(t / "s.json", '{"heads": [2]}')], "unknown field(s) heads"),
    (lambda t: ["sample", "--space", t / "missing.json"], "cannot read the search space file"),
    (lambda t: ["predictor", "--measurements", _write(t / "m.json", '{"measurements": [{"latency_ms": 3'),
                "--out", t / "p.pt"], "not valid JSON"),
    (lambda t: ["predictor", "--measurements", _write(t / "m.csv", "a,b\n1,2\n"), "--out", t / "p.pt"],
     "not a measurements file: no column(s) config, latency_ms"),
    (lambda t: ["predictor", "--measurements", _write(t / "m.csv", 'latency_ms,config\n-2,"{}"\n'),
                "--out", t / "p.pt"], "line 2: latency '-2' must be a positive number"),
    (lambda t: ["predictor", "--measurements", t / "none.json", "--out", t / "p.pt"], "no such file"),
    (lambda t: ["predictor", "--measurements", _write(t / "m.txt", ""), "--out", t / "p.pt"],
     "must end in .json or .csv"),
    (lambda t: ["evolve", t, "--super", t / "s.pt", "--predictor", _write(t / "p.pt", b"\x80garbage"),
                "--latency-limit", 10], "cannot read"),
    (lambda t: ["evolve", t, "--super", t / "s.pt", "--predictor", t / "none.pt", "--latency-limit", 10],
     "--predictor: no such file"),
    (lambda t: ["latency", "--out", t / "lat.txt", "--samples", 1], "must end in .json or .csv"),
])
def test_bad_input_gets_one_clear_line_and_exit_code_2(tmp_path, capsys, make_argv, message):
    rc, out, err = run_main(capsys, *make_argv(tmp_path))
    assert rc == 2, (out, err)
    assert err.startswith("lite-fairseq-search: error: ") and message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["evolve", "d", "--super", "s.pt", "--predictor", "p.pt", "--latency-limit", "-5"],
     "argument --latency-limit: expected a number > 0.0, got -5"),
    (["evolve", "d", "--super", "s.pt", "--predictor", "p.pt", "--latency-limit", "fast"],
     "argument --latency-limit: expected a number, got 'fast'"),
    (["latency", "--out", "x.json", "--samples", "-1"], "argument --samples: expected a number >= 0, got -1"),
])
def test_malformed_numbers_are_refused_by_the_parser_with_exit_code_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_module_runs_as_a_program(tmp_path):
    proc = run([sys.executable, "-m", "lite_fairseq.search", "sample", "--space", tmp_path / "missing.json"],
               check=False, timeout=120)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]  # (a fresh install may print import-time warnings before it)
    assert last.startswith("lite-fairseq-search: error: cannot read the search space file"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_read_measurements_refuses_a_design_outside_the_space(tmp_path):
    space = SearchSpace.default()
    path = tmp_path / "lat.json"
    write_measurements(path, fake_measurements(space, n=3), space, Conditions())
    small = SearchSpace.from_dict({**space.to_dict(), "encoder_layers": [3], "ende_layers": [1, 2, 3]})
    doc = json.loads(path.read_text())
    doc["measurements"][0]["config"] = space.largest().to_dict()  # 4 encoder layers
    path.write_text(json.dumps(doc))
    with pytest.raises(SearchError, match="measurement 0: the design is not in the search space"):
        read_measurements(path, small)


def test_evolve_refuses_a_predictor_whose_space_reaches_outside_the_supertransformers():
    import argparse

    from lite_fairseq.search.cli import _check_inside

    opts = argparse.Namespace(predictor="p.pt", super="super.pt")
    space = SearchSpace.default()
    _check_inside(space, space, opts)
    smaller = SearchSpace.from_dict({**space.to_dict(), "encoder_ffn_dims": [128, 256]})
    _check_inside(smaller, space, opts)  # a sub-space: every choice has weights
    with pytest.raises(SearchError, match=r"--predictor p.pt: its design space has encoder_ffn_dims=\[128, 256, "
                                          r"512\], the SuperTransformer super.pt has \[128, 256\]"):
        _check_inside(space, smaller, opts)
