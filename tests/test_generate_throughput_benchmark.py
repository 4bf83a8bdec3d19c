"""benchmarks/generate_throughput.py: length-sorted left-padded batches, every hypothesis decodes the same number of
steps (min_len = max_len), and the printed table has the Mult-Adds/s ratio."""

import pytest

import generate_throughput  # benchmarks/, importable through tests/helpers.py


def test_batches_are_length_sorted_left_padded_and_realistic():
    m = generate_throughput.Model("lite_transformer_tiny", 60, beam=2)
    d = m.built.src_dict
    batches = generate_throughput.make_batches(d, 40, 16)
    assert [b["net_input"]["src_tokens"].size(0) for b in batches] == [16, 16, 8]
    lengths = [n for b in batches for n in b["net_input"]["src_lengths"].tolist()]
    assert lengths == sorted(lengths) and 3 <= min(lengths) and max(lengths) <= 100
    src = batches[0]["net_input"]["src_tokens"]
    first = batches[0]["net_input"]["src_lengths"][0]
    assert (src[0, : src.size(1) - first] == d.pad()).all() and (src[:, -1] == d.eos()).all()


def test_every_hypothesis_decodes_the_forced_length(capsys):
    m = generate_throughput.Model("lite_transformer_tiny", 60, beam=2)
    sample = generate_throughput.make_batches(m.built.src_dict, 3, 3)[0]
    hypos = m.run(sample, steps=6)
    assert all(len(h["tokens"]) == 7 for sentence in hypos for h in sentence)  # 6 steps + end of sentence
    generate_throughput.main(["--pair", "lite_transformer_tiny=transformer_paper_wmt_128", "--sentences", "2",
                              "--batch", "2", "--beam", "2", "--vocab", "60", "--threads", "1"])
    lite = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("lite_transformer_tiny"))
    assert lite.split()[-1].endswith("x") and lite.split()[-2].endswith("x")


def test_repeats_alternate_which_model_decodes_a_batch_first(monkeypatch, capsys):
    calls = []
    real_run = generate_throughput.Model.run

    def run(self, sample, steps):
        calls.append(self.arch)
        return real_run(self, sample, steps)

    monkeypatch.setattr(generate_throughput.Model, "run", run)
    generate_throughput.main(["--pair", "lite_transformer_tiny=transformer_paper_wmt_128", "--sentences", "2",
                              "--batch", "2", "--beam", "2", "--vocab", "60", "--threads", "1", "--repeats", "2"])
    lite, base = "lite_transformer_tiny", "transformer_paper_wmt_128"
    assert calls == [lite, base, base, lite]  # one batch, decoded twice by each model, the first model swapped
    out = capsys.readouterr().out
    assert "(each decoded 2 times)" in out


def test_repeats_below_one_is_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit):
        generate_throughput.main(["--repeats", "0"])
    assert "--repeats must be at least 1" in capsys.readouterr().err


def test_share_baseline_keys_gives_the_transformer_the_same_hypotheses_and_counts_shared_projections_once():
    from lite_fairseq.profiler.latency import encoder_key_macs

    plain = generate_throughput.Model("transformer_paper_wmt_128", 60, beam=3)
    shared = generate_throughput.Model("transformer_paper_wmt_128", 60, beam=3, share_keys=True)
    sample = generate_throughput.make_batches(plain.built.src_dict, 4, 4)[0]
    for ours, theirs in zip(shared.run(sample, steps=5), plain.run(sample, steps=5)):
        assert [h["tokens"].tolist() for h in ours] == [h["tokens"].tolist() for h in theirs]
    src_len = int(sample["net_input"]["src_lengths"].float().mean().round())
    assert plain.macs - shared.macs == 4 * 2 * encoder_key_macs(plain.model.decoder, src_len)  # 4 sentences x 2
    assert all(m.beam_size == 1 for m in shared.model.decoder.modules() if hasattr(m, "beam_size"))  # reset after
