"""The Mult-Adds / #Params profiler: the paper's rows, hand-computed cases, the convention, the report."""

import os

import pytest
import torch
import torch.nn as nn

from lite_fairseq.profiler import ProfilerError, build, count_macs, profile
from lite_fairseq.profiler.counting import INCLUDED_PARTS, MacCounter
from lite_fairseq.profiler.report import format_table
from lite_fairseq.modules import DynamicConvTBC

# fairseq's IWSLT'14 De-En preparation (joint BPE 10k) gives dict.de.txt 8848 and dict.en.txt 6632 entries; the
# IWSLT #Params of the paper include the (untied) decoder output projection, which depends on the latter.
IWSLT_VOCAB = {"src_vocab": 8848, "tgt_vocab": 6632}

# (architecture, paper Mult-Adds in M, paper #Params in M, which #Params the paper reports)
PAPER_ROWS = [
    ("lite_transformer_wmt_200", 90, 2.9, "without_embeddings"),
    ("lite_transformer_wmt_408", 360, 11.7, "without_embeddings"),
    ("lite_transformer_wmt_496", 527, 17.3, "without_embeddings"),
    ("transformer_paper_wmt_128", 87, 2.8, "without_embeddings"),
    ("transformer_paper_wmt_256", 338, 11.1, "without_embeddings"),
    ("transformer_paper_wmt_320", 527, 17.3, "without_embeddings"),
    ("lite_transformer_iwslt_de_en_160", 54, 2.8, "with_output_projection"),
    ("lite_transformer_iwslt_de_en_240", 119, 5.4, "with_output_projection"),
    ("lite_transformer_iwslt_de_en_320", 209, 8.9, "with_output_projection"),
    ("transformer_paper_iwslt_128", 63, 2.8, "with_output_projection"),
    ("transformer_paper_iwslt_192", 139, 5.7, "with_output_projection"),
    ("transformer_paper_iwslt_240", 215, 8.5, "with_output_projection"),
]

_CACHE = {}


def paper_profile(arch):
    if arch not in _CACHE:
        _CACHE[arch] = profile(arch, **(IWSLT_VOCAB if "iwslt" in arch else {}))
    return _CACHE[arch]


@pytest.mark.parametrize("arch,macs_m,params_m,params_kind", PAPER_ROWS, ids=[r[0] for r in PAPER_ROWS])
def test_paper_rows_within_two_percent(arch, macs_m, params_m, params_kind):
    r = paper_profile(arch)
    assert r.macs / 1e6 == pytest.approx(macs_m, rel=0.02), (arch, r.macs)
    params = (r.params_without_embeddings if params_kind == "without_embeddings"
              else r.params_without_embeddings_with_output_projection)
    assert params / 1e6 == pytest.approx(params_m, rel=0.02), (arch, params)


@pytest.mark.parametrize("arch,d_attn", [("lite_transformer_wmt_200", 100), ("transformer_paper_wmt_128", 128),
                                         ("lite_transformer_iwslt_de_en_320", 160)])
def test_incremental_differs_only_by_causal_self_attention(arch, d_attn):
    """Step t of incremental decoding attends t positions: 30*31/2 score entries per head-channel instead of
    30*30, for Q K^T and for A V, in each of the 6 decoder layers; everything else is the same."""
    r = paper_profile(arch)
    assert r.macs_full - r.macs_incremental == 6 * 2 * (30 * 30 - 30 * 31 // 2) * d_attn


def _tiny_overrides():
    return ["--encoder-embed-dim", "16", "--decoder-embed-dim", "16", "--encoder-layers", "1",
            "--decoder-layers", "1", "--encoder-ffn-embed-dim", "8", "--decoder-ffn-embed-dim", "8",
            "--encoder-kernel-size-list", "3", "--decoder-kernel-size-list", "5", "--decoder-attention-heads", "4",
            "--encoder-conv-type", "dynamic", "--encoder-glu", "True"]


def test_hand_computed_tiny_lite_transformer():
    """d=16 (8 attention + 8 convolution channels, 4 heads each), FFN 8, one layer per side, K=3 (encoder) and
    K=5 (decoder), GLU, dynamic convolution; 5 source and 4 target tokens. Every figure below by hand."""
    S, T, d, a, c, F, V = 5, 4, 16, 8, 8, 8, 40
    built = build("lite_transformer", _tiny_overrides(), src_vocab=V)
    enc = {
        "attn_proj": 4 * a * a * S,            # q, k, v, out of the attention branch
        "attn_products": 2 * S * S * a,        # Q K^T and A V
        "conv_linears": c * 2 * c * S + c * c * S,  # Linear(c -> 2c) before GLU, Linear(c -> c) after
        "kernel_predictor": c * (4 * 3) * S,   # c -> H*K per position
        "conv": S * c * 3,                     # K taps per output element
        "ffn": 2 * d * F * S,
    }
    dec_full = {
        "attn_proj": 4 * a * a * T,
        "attn_products": 2 * T * T * a,
        "conv_linears": c * 2 * c * T + c * c * T,
        "kernel_predictor": c * (4 * 5) * T,
        "conv": T * c * 5,
        "ffn": 2 * d * F * T,
        "encdec_attn_proj": 2 * d * d * T + 2 * d * d * S,  # q, out per target token; k, v per source token
        "encdec_attn_products": 2 * T * S * d,
        "output_projection": T * d * V,
    }
    full = count_macs(built, S, T, "full")
    assert full["encoder"] == enc
    assert full["decoder"] == dec_full
    inc = count_macs(built, S, T, "incremental")
    dec_inc = dict(dec_full, attn_products=2 * sum(range(1, T + 1)) * a)  # step t attends t positions
    assert inc["encoder"] == enc
    assert inc["decoder"] == dec_inc
    r = profile("lite_transformer", _tiny_overrides(), src_vocab=V, src_len=S, tgt_len=T)
    assert r.macs == sum(enc.values()) + sum(dec_full.values()) - dec_full["output_projection"]
    assert r.macs_excluded["output_projection"] == T * d * V


def test_hand_computed_tiny_params():
    V, d, a, c, F = 40, 16, 8, 8, 8
    r = profile("lite_transformer", _tiny_overrides(), src_vocab=V, src_len=5, tgt_len=4)
    lsra = lambda K: (4 * (a * a + a)) + (c * 2 * c + 2 * c) + (c * c + c) + c * 4 * K  # noqa: E731
    ffn = d * F + F + F * d + d
    norms = 2 * d
    encoder = lsra(3) + ffn + 2 * norms
    decoder = lsra(5) + ffn + 4 * (d * d + d) + 3 * norms
    assert r.params_by_side == {"encoder": encoder, "decoder": decoder}
    assert r.params_without_embeddings == encoder + decoder
    # two token embeddings (sinusoidal positions have no parameters) and an untied output projection
    assert r.params_embeddings == 2 * V * d
    assert r.params_output_projection == V * d
    assert r.params == encoder + decoder + 3 * V * d


def test_single_linear_layer_counted_exactly():
    layer = nn.Linear(3, 5)
    counter = MacCounter(layer)
    with torch.no_grad(), counter:
        layer(torch.randn(7, 3))
        torch.bmm(torch.randn(2, 4, 6), torch.randn(2, 6, 9))  # outside any module
    assert counter.macs == {"other": {"other": 7 * 3 * 5 + 2 * 4 * 6 * 9}}


def test_convolution_hook_counts_k_taps_per_output_element():
    conv = DynamicConvTBC(8, kernel_size=7, padding_l=3, num_heads=2)
    counter = MacCounter(conv)
    with torch.no_grad(), counter:
        conv(torch.randn(11, 3, 8))  # T x B x C
    # the convolution itself K*T*B*C; its kernel predictor C -> H*K per position
    assert counter.macs["other"] == {"conv": 7 * 11 * 3 * 8, "kernel_predictor": 8 * 2 * 7 * 11 * 3}


@pytest.mark.parametrize("arch", ["lite_transformer_wmt_200", "transformer_paper_iwslt_128", "lite_transformer_tiny"])
def test_breakdown_sums_to_total(arch):
    r = paper_profile(arch) if arch != "lite_transformer_tiny" else profile(arch)
    parts = sum(r.macs_by_part.get(side, {}).get(p, 0) for side in r.macs_by_part for p in INCLUDED_PARTS)
    assert parts == r.macs == r.macs_encoder + r.macs_decoder
    assert r.macs_by_part["encoder"]["ffn"] > 0 and r.macs_by_part["decoder"]["encdec_attn_proj"] > 0
    assert r.params == r.params_embeddings + r.params_output_projection + r.params_without_embeddings
    assert sum(r.params_by_side.values()) == r.params_without_embeddings
    table = format_table(r)
    assert f"{r.macs / 1e6:.3f}" in table and "FFN" in table


def test_embeddings_and_output_projection_do_not_change_macs():
    small = profile("lite_transformer_tiny", src_vocab=50)
    large = profile("lite_transformer_tiny", src_vocab=5000)
    assert small.macs == large.macs
    assert small.params_without_embeddings == large.params_without_embeddings
    assert large.macs_excluded["output_projection"] == 100 * small.macs_excluded["output_projection"]


def test_fairseq_transformer_lm_is_profiled_as_decoder_only():
    """fairseq's own transformer_lm (6 layers, d=512, FFN 2048, 8 heads) over 30 tokens, by hand."""
    T, d, layers = 30, 512, 6
    r = profile("transformer_lm", ["--decoder-layers", str(layers)], tgt_len=T)
    assert r.task == "language_modeling" and r.macs_encoder == 0 and r.src_len is None
    assert r.macs_by_part["decoder"]["attn_proj"] == layers * 4 * d * d * T
    assert r.macs_by_part["decoder"]["attn_products"] == layers * 2 * T * T * d
    assert r.macs_by_part["decoder"]["ffn"] == layers * 2 * d * 2048 * T
    assert r.macs_full - r.macs_incremental == layers * 2 * (T * T - T * (T + 1) // 2) * d
    with pytest.raises(ProfilerError, match="decoder-only"):
        profile("transformer_lm", src_vocab=100)


def test_lengths_and_vocab_errors():
    with pytest.raises(ProfilerError, match="--tgt-len 5000 exceeds"):
        profile("lite_transformer_tiny", tgt_len=5000)
    with pytest.raises(ProfilerError, match="--src-len"):
        profile("lite_transformer_tiny", src_len=0)
    with pytest.raises(ProfilerError, match="joined dictionary"):
        profile("lite_transformer_wmt_200", src_vocab=100, tgt_vocab=200)
    with pytest.raises(ProfilerError, match="--decoder-mode"):
        profile("lite_transformer_tiny", decoder_mode="stepwise")


def test_vocabulary_from_data_dir(tmp_path):
    (tmp_path / "dict.de.txt").write_text("".join(f"de{i} 1\n" for i in range(30)))
    (tmp_path / "dict.en.txt").write_text("".join(f"en{i} 1\n" for i in range(20)))
    (tmp_path / "train.de-en.de.idx").write_bytes(b"")
    r = profile("transformer_paper_iwslt_128", data=str(tmp_path), src_len=5, tgt_len=5)
    assert (r.src_vocab, r.tgt_vocab) == (34, 24)  # plus the 4 special symbols
    os.remove(tmp_path / "train.de-en.de.idx")
    with pytest.raises(ProfilerError, match="--source-lang and --target-lang"):
        profile("transformer_paper_iwslt_128", data=str(tmp_path))
    r = profile("transformer_paper_iwslt_128", data=str(tmp_path), source_lang="en", target_lang="de",
                src_len=5, tgt_len=5)
    assert (r.src_vocab, r.tgt_vocab) == (24, 34)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProfilerError, match="no dict"):
        profile("transformer_paper_iwslt_128", data=str(tmp_path / "empty"))


def test_fairseq_band_matrix_convolution_counted_as_k_taps():
    """fairseq's own LightweightConv1dTBC multiplies by a T x T band matrix on short inputs; the profiler still
    counts the convolution as K taps per output element (the band's zeros are not Mult-Adds of the model)."""
    from fairseq.modules import LightweightConv1dTBC

    conv = LightweightConv1dTBC(8, kernel_size=5, padding_l=2, num_heads=2)
    counter = MacCounter(conv)
    with torch.no_grad(), counter:
        conv(torch.randn(11, 3, 8))
    assert counter.macs["other"] == {"conv": 5 * 11 * 3 * 8}
