"""`lite-fairseq-search match`: a baseline architecture scaled to a target measured latency (the hand-designed
models a searched design is compared with), its bisection over widths and the curve fitted to them, and bad input
answered with one clear line. The timing is replaced by a made-up latency that grows with the width, except in the
one end-to-end run."""

import json
import re

import pytest

from lite_fairseq.search import matching
from lite_fairseq.search.errors import SearchError
from lite_fairseq.search.latency import Conditions, write_measurements
from lite_fairseq.search.space import SearchSpace
from test_search_cli import fake_measurements, run_main

TINY = "--encoder-layers 1 --decoder-layers 1 --encoder-attention-heads 2 --decoder-attention-heads 2"


@pytest.fixture
def fake_timing(monkeypatch):
    """Latency = the built model's encoder width / 4 ms; records the widths built."""
    built_widths = []

    def time_built(built, conditions):
        width = built.args.encoder_embed_dim
        built_widths.append(width)
        return width / 4.0, width / 4.0 - 0.5

    monkeypatch.setattr(matching, "time_built", time_built)
    return built_widths


def test_match_picks_the_width_nearest_the_target_by_bisection(fake_timing):
    match = matching.match_latency("transformer_paper_iwslt_128", TINY.split(), 41.0, Conditions(src_vocab=50),
                                   min_width=16, max_width=512, multiple_of=16)
    assert match.width == 160  # 40 ms, nearer 41 than 176's 44 ms
    assert match.latency_ms == 40.0
    assert len(fake_timing) <= 8  # a bisection, not all 32 widths
    assert {m.width for m in match.measured} == set(fake_timing)


def test_one_outlying_measurement_does_not_decide_the_match(monkeypatch):
    """Width 128 reads 45 ms once (its true 32 ms + 40%): a bisection alone would stop there, 4 ms from the 41 ms
    target; the curve fitted to every width timed puts the target near width 160 (40 ms)."""
    def time_built(built, conditions):
        width = built.args.encoder_embed_dim
        ms = 45.0 if width == 128 else width / 4.0
        return ms, ms - 0.5

    monkeypatch.setattr(matching, "time_built", time_built)
    match = matching.match_latency("transformer_paper_iwslt_128", TINY.split(), 41.0, Conditions(src_vocab=50),
                                   min_width=16, max_width=512, multiple_of=16)
    assert 128 in {m.width for m in match.measured}  # the bisection did time the outlier ...
    assert match.width in (144, 160, 176)  # ... and the fit looked past it
    assert match.latency_ms == match.width / 4.0  # the chosen width is timed, not only predicted
    assert abs(match.fitted_ms - 41.0) < 6.0


def test_match_keeps_the_architectures_ffn_ratio_and_the_callers_options(fake_timing):
    match = matching.match_latency("transformer_paper_iwslt_128", TINY.split(), 24.0, Conditions(src_vocab=50),
                                   min_width=16, max_width=256, multiple_of=16)
    args = match.train_args()
    assert args[:2] == ["--arch", "transformer_paper_iwslt_128"] and args[2:2 + len(TINY.split())] == TINY.split()
    options = dict(zip(args[2 + len(TINY.split())::2], args[3 + len(TINY.split())::2]))
    assert options == {"--encoder-embed-dim": "96", "--encoder-ffn-embed-dim": "192",  # paper IWSLT: FFN = 2d
                       "--decoder-embed-dim": "96", "--decoder-ffn-embed-dim": "192"}
    lite = matching.match_latency("lite_transformer_iwslt_de_en_160", [], 24.0, Conditions(src_vocab=50),
                                  min_width=16, max_width=256, multiple_of=16)
    assert "--encoder-ffn-embed-dim" in lite.overrides  # flattened FFN: FFN = d
    i = lite.overrides.index("--encoder-ffn-embed-dim")
    assert lite.overrides[i + 1] == str(lite.width)


@pytest.mark.parametrize("target,message", [
    (3.0, "even width 16 takes 4.00 ms here; lower --min-width"),
    (500.0, "even width 256 takes only 64.00 ms here; raise --max-width"),
])
def test_a_target_outside_the_width_range_is_refused_with_what_to_change(fake_timing, target, message):
    with pytest.raises(SearchError, match=message):
        matching.match_latency("transformer_paper_iwslt_128", TINY.split(), target, Conditions(src_vocab=50),
                               min_width=16, max_width=256, multiple_of=16)


def test_cli_match_prints_the_options_and_writes_json_under_a_predictors_conditions(tmp_path, capsys, fake_timing):
    space = SearchSpace.default()
    lat = tmp_path / "lat.json"
    write_measurements(lat, fake_measurements(space, n=4), space, Conditions(beam=4, src_vocab=77, tgt_vocab=77))
    rc, out, err = run_main(capsys, "match", "--arch", "transformer_paper_iwslt_128", "--latency", 31, "--set", TINY,
                            "--min-width", 16, "--max-width", 256, "--multiple-of", 16, "--like", lat,
                            "--threads", 2, "--out", tmp_path / "m.json")
    assert rc == 0, err
    assert ("transformer_paper_iwslt_128 at width 128: 32.00 ms measured, 32.00 ms on the curve fitted to the 6 "
            "widths timed (target 31 ms)") in out
    assert "fairseq-train options: --arch transformer_paper_iwslt_128 --encoder-layers 1" in out
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["width"] == 128 and abs(doc["fitted_ms"] - 32.0) < 1e-6
    assert doc["conditions"]["beam"] == 4 and doc["conditions"]["src_vocab"] == 77
    assert doc["conditions"]["threads"] == 2  # an option given on the command line wins over --like's
    assert [m["width"] for m in doc["measured"]] == sorted(m["width"] for m in doc["measured"])


@pytest.mark.parametrize("extra,message", [
    (["--set", "--encoder-embed-dim 64"], "--set: --encoder-embed-dim is chosen by the matching"),
    (["--set", "--dropout 'x"], "--set .*cannot split it into options"),
    (["--min-width", "300", "--max-width", "200"], "need 1 <= min-width <= max-width"),
    (["--min-width", "17", "--max-width", "20", "--multiple-of", "16"], "fewer than two multiples of 16"),
    (["--like", "missing.json"], "no such file"),
    (["--set", "--encoder-attention-heads 8", "--min-width", "24", "--multiple-of", "12"],
     r"cannot build width \d+ .*--multiple-of"),
])
def test_cli_match_bad_input_gets_one_clear_line_and_exit_code_2(capsys, fake_timing, extra, message):
    rc, out, err = run_main(capsys, "match", "--arch", "transformer_paper_iwslt_128", "--latency", 30,
                            "--src-vocab", 50, *extra)
    assert rc == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("lite-fairseq-search: error: ") and re.search(message, last), err


def test_cli_match_times_real_models_end_to_end(tmp_path, capsys):
    rc, out, err = run_main(capsys, "match", "--arch", "transformer_paper_iwslt_128", "--latency", 1e-6,
                            "--set", TINY, "--src-vocab", 50, "--min-width", 16, "--max-width", 32,
                            "--multiple-of", 16, "--repeats", 1, "--warmup", 0, "--tgt-len", 2, "--src-len", 3)
    assert rc == 2 and "even width 16 takes" in err  # a real measurement, far above a microsecond-scale target
    rc, out, err = run_main(capsys, "match", "--arch", "transformer_paper_iwslt_128", "--latency", 1e6,
                            "--set", TINY, "--src-vocab", 50, "--min-width", 16, "--max-width", 32,
                            "--multiple-of", 16, "--repeats", 1, "--warmup", 0, "--tgt-len", 2, "--src-len", 3)
    assert rc == 2 and "even width 32 takes only" in err and "raise --max-width" in err
