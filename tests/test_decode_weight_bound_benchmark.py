"""benchmarks/decode_weight_bound.py: the weights a decoder step reads are counted as the models are built, and the
weight-bound estimate is the Mult-Adds ratio over the weights-per-step ratio (its timings come from real runs, see
benchmarks/RESULTS.md)."""

import re

import pytest

import decode_weight_bound as bench  # benchmarks/, importable through tests/helpers.py
from lite_fairseq.profiler.building import build


def test_a_transformer_step_reads_every_decoder_map_once_but_the_encoder_keys_and_values():
    built = build("transformer_tiny", src_vocab=50)
    d, f = built.model.decoder.embed_dim, built.model.decoder.layers[0].fc1.out_features
    layers, vocab = len(built.model.decoder.layers), len(built.tgt_dict)
    maps = bench.step_weights(built.model.decoder)
    # self-attention q, k, v, out and encoder-decoder q, out (d x d each), the FFN, the output projection
    assert sum(w.numel() for w, _ in maps) == layers * (6 * d * d + 2 * d * f) + vocab * d


def test_a_lite_step_counts_its_convolution_branch_and_a_tied_embedding_once():
    built = build("lite_transformer_tiny", ["--share-decoder-input-output-embed", "True"], src_vocab=50)
    decoder = built.model.decoder
    maps = bench.step_weights(decoder)
    ids = [id(w.untyped_storage()) for w, _ in maps]
    assert len(ids) == len(set(ids))
    assert decoder.output_projection.weight.data_ptr() == decoder.embed_tokens.weight.data_ptr()
    expected = 0
    for layer in decoder.layers:
        for branch in layer.self_attn.branches:
            expected += sum(p.numel() for name, p in branch.named_parameters()
                            if name.endswith("weight") and p.dim() == 2)
        expected += 2 * layer.encoder_attn.q_proj.weight.numel()  # q and out; k and v are projected once
        expected += layer.ffn.fc1.weight.numel() + layer.ffn.fc2.weight.numel()
    expected += decoder.embed_tokens.weight.numel()
    assert sum(w.numel() for w, _ in maps) == expected


def test_report_gives_the_weight_bound_as_mult_adds_ratio_over_weights_ratio(capsys):
    bench.main(["--pair", "lite_transformer_tiny=transformer_tiny", "--rounds", "1", "--vocab", "50"])
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.strip().startswith("Lite/Transformer:"))
    macs, weights, bound = (float(x) for x in re.findall(
        r"Mult-Adds ([\d.]+)x, weights per step ([\d.]+)x.*weight-bound ([\d.]+)x", line)[0])
    assert bound == pytest.approx(macs / weights, abs=2e-3)
    rows = {s.split()[0]: s.split() for s in out.splitlines() if s.strip().startswith(("lite_", "transformer_"))}
    assert set(rows) == {"lite_transformer_tiny", "transformer_tiny"}
    lite_macs, base_macs = (float(rows[a][1].rstrip("M")) for a in ("lite_transformer_tiny", "transformer_tiny"))
    assert macs == pytest.approx(lite_macs / base_macs, rel=0.02)
    same = next(s for s in out.splitlines() if "Transformer with its products laid out as Lite's" in s)
    assert re.search(r"translate [\d.]+ ms; Lite/Transformer Mult-Adds/s against it [\d.]+x", same)


@pytest.mark.parametrize("argv", [["--pair", "lite_transformer_tiny"], ["--beam", "0"]])
def test_bad_options_are_refused_by_name(argv, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    err = capsys.readouterr().err
    assert "LITE=TRANSFORMER" in err or "--beam" in err
