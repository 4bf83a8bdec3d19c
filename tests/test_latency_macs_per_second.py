"""lite-fairseq-profile --latency prints Mult-Adds per second (output projection included) and their ratio."""

import pytest

from lite_fairseq.profiler.building import build
from lite_fairseq.profiler.counting import profile_model
from lite_fairseq.profiler.latency import (LatencyRow, encoder_key_macs, executed_macs, format_latency,
                                          results_to_dict)


@pytest.mark.parametrize("arch", ["lite_transformer_tiny", "transformer_paper_iwslt_128"])
def test_executed_macs_count_the_encoder_once_and_each_hypothesis_decoder_and_projection(arch):
    """Lite's beam shares a sentence's encoder-decoder key and value projections (counted once per sentence);
    fairseq's Transformer computes them for every hypothesis."""
    built = build(arch, (), src_vocab=50)
    p = profile_model(built, 5, 4, decoder_mode="incremental")
    per_hypothesis = p.macs_decoder + p.macs_excluded["output_projection"]
    assert p.macs_excluded["output_projection"] > 0
    assert executed_macs(built, 5, 4, 1) == p.macs_encoder + per_hypothesis
    shared = 3 * encoder_key_macs(built.model.decoder, 5) if arch.startswith("lite") else 0
    assert encoder_key_macs(built.model.decoder, 5) > 0
    assert executed_macs(built, 5, 4, 4) == p.macs_encoder + 4 * per_hypothesis - shared


def test_latency_table_prints_mult_adds_per_second_and_lite_over_transformer_ratio():
    lite = LatencyRow("lite_x", 100, 10, greedy_ms=200.0, beam_ms=400.0, greedy_min_ms=190.0, beam_min_ms=380.0,
                      greedy_executed_macs=4 * 10 ** 8, beam_executed_macs=16 * 10 ** 8)
    base = LatencyRow("base_x", 90, 10, greedy_ms=100.0, beam_ms=400.0, greedy_min_ms=95.0, beam_min_ms=380.0,
                      greedy_executed_macs=3 * 10 ** 8, beam_executed_macs=8 * 10 ** 8)
    assert lite.greedy_macs_per_s == pytest.approx(2e9) and base.greedy_macs_per_s == pytest.approx(3e9)
    text = format_latency([(lite, base)], beam=4, threads=1, repeats=3, src_len=30, steps=30)
    assert "greedy GMA/s" in text and "beam-4 GMA/s" in text
    ratio_line = next(line for line in text.splitlines() if "ratio Lite / Transformer" in line)
    assert ratio_line.split()[-2:] == ["0.67x", "2.00x"]
    d = results_to_dict([(lite, base)])[0]
    assert d["greedy_macs_per_s_ratio"] == pytest.approx(2 / 3) and d["beam_macs_per_s_ratio"] == pytest.approx(2.0)


def test_latency_table_gives_lite_over_transformer_round_by_round_so_a_drifting_machine_cancels():
    # Lite's round 2 and the Transformer's round 3 ran slow: two of the three rounds' own ratios are 0.5
    lite = LatencyRow("lite_x", 100, 10, greedy_ms=12.0, beam_ms=12.0, greedy_min_ms=10.0, beam_min_ms=10.0,
                      greedy_executed_macs=10 ** 8, beam_executed_macs=10 ** 8,
                      greedy_rounds_ms=[10.0, 40.0, 12.0], beam_rounds_ms=[10.0, 40.0, 12.0])
    base = LatencyRow("base_x", 90, 10, greedy_ms=20.0, beam_ms=20.0, greedy_min_ms=5.0, beam_min_ms=5.0,
                      greedy_executed_macs=10 ** 8, beam_executed_macs=10 ** 8,
                      greedy_rounds_ms=[5.0, 20.0, 30.0], beam_rounds_ms=[5.0, 20.0, 30.0])
    text = format_latency([(lite, base)], beam=4, threads=1, repeats=3, src_len=30, steps=30)
    line = next(line for line in text.splitlines() if "round by round" in line)
    assert "greedy 0.50x (0.50-2.50)" in line and "beam 4 0.50x (0.50-2.50)" in line
    d = results_to_dict([(lite, base)])[0]
    assert d["greedy_macs_per_s_ratio_by_round"] == pytest.approx([0.5, 0.5, 2.5])
    assert d["greedy_macs_per_s_ratio"] == pytest.approx(20 / 12)  # median against median says Lite is ahead
