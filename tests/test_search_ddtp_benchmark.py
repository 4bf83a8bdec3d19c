"""benchmarks/search_ddtp: the search's end-to-end benchmark refuses bad knobs before any work, and its summary
reads the runs (BLEU, train time, CPU cost), times the designs of each limit side by side and draws the plot.
The full pipeline (hours of training) is not run here."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from helpers import BENCHMARKS, REPO
from lite_fairseq.search.cli import main as search_main
from lite_fairseq.search.latency import Conditions, write_measurements
from lite_fairseq.search.space import SearchSpace
from test_search_cli import fake_measurements

HERE = BENCHMARKS / "search_ddtp"
TINY = ["--encoder-layers", "1", "--decoder-layers", "1", "--encoder-attention-heads", "2",
        "--decoder-attention-heads", "2"]


def _summarise():
    spec = importlib.util.spec_from_file_location("search_ddtp_summarise", HERE / "summarise.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_sh(tmp_path, env_extra, *args):
    env = {"PATH": os.environ["PATH"], "SEARCH_OUT": str(tmp_path / "w"), **env_extra}
    return subprocess.run(["bash", str(HERE / "run.sh"), *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


def test_run_refuses_a_malformed_latency_limit_before_any_work(tmp_path):
    proc = _run_sh(tmp_path, {"SEARCH_LIMITS": "40 fast"})
    assert proc.returncode == 1
    assert "SEARCH_LIMITS: 'fast' is not a number of ms" in proc.stderr
    assert not (tmp_path / "w").exists()


def test_run_stops_clearly_without_the_raw_corpus(tmp_path):
    proc = _run_sh(tmp_path, {}, tmp_path / "missing")
    assert proc.returncode == 1
    assert "is missing or empty" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture
def work(tmp_path, capsys):
    """A finished run's files, made up except the predictor (fitted on made-up latencies) and the designs."""
    space = SearchSpace.default()
    w = tmp_path / "w"
    (w / "cost").mkdir(parents=True)
    conditions = Conditions(src_vocab=50, tgt_vocab=50, repeats=1, warmup=0, steps=3, src_len=4)
    write_measurements(w / "lat.json", fake_measurements(space, n=12), space, conditions)
    assert search_main(["predictor", "--measurements", str(w / "lat.json"), "--out", str(w / "lat.pt"),
                        "--steps", "20"]) == 0
    capsys.readouterr()
    for limit, width in (("40", 32), ("60", 48)):
        d = w / f"limit_{limit}"
        d.mkdir()
        (d / "winner.json").write_text(space.smallest().to_json())
        widths = ["--encoder-embed-dim", str(width), "--decoder-embed-dim", str(width)]
        for model, arch in (("lite", "lite_transformer_iwslt_de_en_160"),
                            ("transformer", "transformer_paper_iwslt_128")):
            (d / f"{model}.match.json").write_text(json.dumps({"arch": arch, "overrides": TINY + widths}))
        for i, model in enumerate(("found", "lite", "transformer")):
            for seed in (1, 2):
                run = w / "runs" / f"l{limit}_{model}.s{seed}"
                run.mkdir(parents=True)
                if not (limit == "60" and model == "lite" and seed == 2):  # one run not scored yet
                    (run / "bleu.json").write_text(json.dumps({"score": 10.0 + i + seed / 10}))
                (run / "time.txt").write_text("wall_s=600\nseed=1\n")
                (run / "train.log").write_text("epoch 001: 50 / 9 loss=9.1, num_updates=50, lr=1\n"
                                               "valid | loss 8.2 | num_updates 60 | best_loss 8.2\n")
    (w / "cost" / "super.cpu").write_text("3600.0\n1800.0\n")
    (w / "cost" / "search.cpu").write_text("720.0\n")
    return w


def test_args_gives_each_designs_fairseq_train_options(work):
    s = _summarise()
    found = s.model_args(str(work / "limit_40"), "found")
    assert found[:2] == ["--arch", "lite_transformer"] and "--decoder-layer-branches" in found
    assert s.model_args(str(work / "limit_40"), "transformer")[:2] == ["--arch", "transformer_paper_iwslt_128"]


def test_limits_are_the_median_and_80_percent_quantile_of_the_measured_latencies(tmp_path, capsys):
    space = SearchSpace.default()
    measured = fake_measurements(space, n=11)
    for i, m in enumerate(measured):
        m.latency_ms = 10.0 * (i + 1)  # 10 .. 110 ms
    write_measurements(tmp_path / "lat.json", measured, space, Conditions())
    assert _summarise().main(["limits", str(tmp_path / "lat.json")]) == 0
    assert capsys.readouterr().out.split() == ["60.0", "96.0"]


def test_report_reads_bleu_and_cost_and_times_the_designs_side_by_side(work, capsys):
    out = work / "summary.md"
    assert _summarise().main(["report", "--work", str(work), "--limits", "40 60", "--seeds", "1 2",
                              "--out", str(out), "--png", str(work / "plot.png"), "--repeats", "3"]) == 0
    text = out.read_text()
    assert "median of 3 (cpu, 1 thread(s)" in text  # --repeats, not the default of 9
    rows = [line for line in text.splitlines() if line.startswith("| 40 |") or line.startswith("| 60 |")]
    assert len(rows) == 6
    assert rows[0].startswith("| 40 | found |")
    assert "| 10.10 | 10.20 | 10.15 | 10.0 min, 60 upd, 10.0 min, 60 upd |" in rows[0]  # updates: train.log's last
    assert "| 11.10 | - | 11.10 |" in rows[4]  # limit 60, lite: the unscored seed is a dash, the mean of the other
    latency = float(rows[2].split("|")[3])
    assert latency > 0  # measured, not read
    assert "- limit 40 ms: found - transformer = -2.00 BLEU" in text
    assert "- found at limit 40 ms vs lite at limit 60 ms: -0.95 BLEU" in text
    assert "- SuperTransformer training: 1.50" in text and "- latency measurements and predictor: not recorded" in text
    assert "- total: 1.70" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert (work / "plot.png").stat().st_size > 0


def test_timed_adds_the_commands_cpu_seconds_and_keeps_its_exit_code(tmp_path):
    s = _summarise()
    cost = tmp_path / "c.cpu"
    assert s.main(["timed", str(cost), "--", sys.executable, "-c", "sum(range(3_000_000))"]) == 0
    assert s.main(["timed", str(cost), "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
    seconds = [float(x) for x in cost.read_text().split()]
    assert len(seconds) == 2 and seconds[0] > 0
