"""benchmarks/fairseq_train_throughput.py: every --pair given is run and reported (fairseq-train itself is stubbed
out here; the benchmark's figures come from real runs, see RESULTS.md)."""

import pytest

import fairseq_train_throughput as bench  # benchmarks/, importable through tests/helpers.py


def test_each_repeated_pair_gets_its_own_table(monkeypatch, capsys):
    trained = []

    def fake_train_wps(data, arch, code, args):
        trained.append(arch)
        return [100.0 if arch.startswith("lite_") else 80.0]

    monkeypatch.setattr(bench, "train_wps", fake_train_wps)
    monkeypatch.setattr(bench, "write_corpus", lambda tmp, sentences, vocab: (tmp, 108))
    monkeypatch.setattr(bench, "macs_per_word", lambda arch, dict_size: 2e6 if arch.startswith("lite_") else 1e6)
    bench.main(["--pair", "lite_transformer_wmt_200=transformer_paper_wmt_128",
                "--pair", "lite_transformer_wmt_408=transformer_paper_wmt_256", "--rounds", "1"])
    assert trained == ["lite_transformer_wmt_200", "transformer_paper_wmt_128",
                       "lite_transformer_wmt_408", "transformer_paper_wmt_256"]
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("Lite ")]
    assert [r[1] for r in rows] == ["lite_transformer_wmt_200", "lite_transformer_wmt_408"]
    assert all(r[-2:] == ["1.25x", "2.50x"] for r in rows)  # words/s and Mult-Adds/s over the Transformer's


def test_a_malformed_pair_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--pair", "lite_transformer_wmt_200"])
    assert "LITE=TRANSFORMER" in capsys.readouterr().err
