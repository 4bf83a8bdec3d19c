"""The lite_transformer model: registration, shapes, padding, causality, incremental decoding, beam reordering."""

import pytest
import torch
from fairseq.models import ARCH_MODEL_REGISTRY

from lite_fairseq.models import BASELINES, PRESETS
from lite_fairseq.models.lite_transformer import LiteTransformerModel
from model_helpers import build_model, incremental_logprobs, make_dictionary, random_tokens

ALL_LITE_ARCHS = ("lite_transformer", "lite_transformer_tiny") + PRESETS


@pytest.mark.parametrize("arch", ALL_LITE_ARCHS + BASELINES)
def test_every_architecture_registers_and_builds(arch):
    assert arch in ARCH_MODEL_REGISTRY
    d = make_dictionary()
    model = build_model(arch, dictionary=d).eval()
    src = random_tokens(d, 2, 7)
    prev = random_tokens(d, 2, 5)
    out, extra = model(src, torch.tensor([7, 7]), prev)
    assert out.shape == (2, 5, len(d))
    assert torch.isfinite(out).all()
    if arch.startswith("lite"):
        assert isinstance(model, LiteTransformerModel)


@pytest.mark.parametrize("arch,d,conv,glu,shared", [
    ("lite_transformer_iwslt_de_en_160", 160, "lightweight", False, False),
    ("lite_transformer_iwslt_de_en_240", 240, "lightweight", False, False),
    ("lite_transformer_iwslt_de_en_320", 320, "lightweight", False, False),
    ("lite_transformer_wmt_200", 200, "dynamic", True, True),
    ("lite_transformer_wmt_408", 408, "dynamic", True, True),
    ("lite_transformer_wmt_496", 496, "dynamic", True, True),
])
def test_presets_follow_the_paper(arch, d, conv, glu, shared):
    model = build_model(arch)
    enc_layer = model.encoder.layers[0]
    assert len(model.encoder.layers) == len(model.decoder.layers) == 6
    kernels = [layer.self_attn.branches[1].conv.kernel_size for layer in model.encoder.layers]
    assert kernels == [3, 7, 15, 31, 31, 31]
    specs = enc_layer.self_attn.specs
    assert [(s.kind, s.dim, s.heads) for s in specs] == [("attn", d // 2, 4), (conv, d // 2, 4)]
    assert enc_layer.ffn.fc1.out_features == d  # flattened FFN
    assert enc_layer.self_attn.branches[1].glu is glu
    assert (model.encoder.embed_tokens is model.decoder.embed_tokens) is shared
    # decoder convolutions are causal, encoder ones centred
    assert model.decoder.layers[3].self_attn.branches[1].conv.padding_l == 30
    assert model.encoder.layers[3].self_attn.branches[1].conv.padding_l == 15
    heads = model.decoder.layers[0].encoder_attn.num_heads
    assert heads == (8 if shared else 4)


@pytest.mark.parametrize("arch,params", [
    ("lite_transformer_wmt_200", 2.9e6), ("lite_transformer_wmt_408", 11.7e6), ("lite_transformer_wmt_496", 17.3e6),
])
def test_wmt_presets_match_the_papers_parameter_counts(arch, params):
    model = build_model(arch)
    n = sum(p.numel() for name, p in model.named_parameters()
            if "embed_tokens" not in name and "output_projection" not in name)
    assert abs(n - params) / params < 0.02, n


def test_options_override_presets():
    model = build_model("lite_transformer_wmt_200", ["--encoder-embed-dim", "240", "--decoder-embed-dim", "240",
                                                     "--share-all-embeddings", "False", "--decoder-conv-type",
                                                     "lightweight", "--encoder-kernel-size-list", "5"])
    assert model.encoder.embed_tokens is not model.decoder.embed_tokens
    specs = model.encoder.layers[0].self_attn.specs
    assert [(s.kind, s.dim) for s in specs] == [("attn", 120), ("dynamic", 120)]
    assert model.decoder.layers[0].self_attn.specs[1].kind == "lightweight"
    assert all(layer.self_attn.branches[1].conv.kernel_size == 5 for layer in model.encoder.layers)


def test_authors_branch_format_and_uneven_split():
    model = build_model("lite_transformer_tiny", [
        "--encoder-branch-type", "attn:1:32:2", "dynamic:default:64:4", "lightweight:5:32:2",
        "--decoder-attn-branch-dim", "96", "--decoder-attn-branch-heads", "3"])
    enc_specs = model.encoder.layers[0].self_attn.specs
    assert [str(s) for s in enc_specs] == ["attn:1:32:2", "dynamic:default:64:4", "lightweight:5:32:2"]
    assert model.encoder.layers[2].self_attn.branches[1].conv.kernel_size == 15
    assert model.encoder.layers[2].self_attn.branches[2].conv.kernel_size == 5
    dec_specs = model.decoder.layers[0].self_attn.specs
    assert [(s.kind, s.dim, s.heads) for s in dec_specs] == [("attn", 96, 3), ("dynamic", 32, 4)]
    d = make_dictionary()
    out, _ = model.eval()(random_tokens(d, 2, 6), torch.tensor([6, 6]), random_tokens(d, 2, 4))
    assert out.shape == (2, 4, len(d))


def test_attention_only_and_convolution_only_layers():
    for dim in ("0", "128"):
        model = build_model("lite_transformer_tiny", ["--encoder-attn-branch-dim", dim])
        specs = model.encoder.layers[0].self_attn.specs
        assert len(specs) == 1 and specs[0].dim == 128
        assert specs[0].kind == ("dynamic" if dim == "0" else "attn")


def _pad_left(tokens, length, pad):
    return torch.cat([tokens.new_full((tokens.size(0), length - tokens.size(1)), pad), tokens], dim=1)


@pytest.mark.parametrize("arch", ["lite_transformer_tiny", "lite_transformer_iwslt_de_en_160",
                                  "lite_transformer_wmt_200"])
def test_padding_never_changes_real_positions(arch):
    d = make_dictionary()
    model = build_model(arch, dictionary=d).eval()
    g = torch.Generator().manual_seed(1)
    short, long_ = random_tokens(d, 1, 5, g), random_tokens(d, 1, 11, g)
    prev_short, prev_long = random_tokens(d, 1, 4, g), random_tokens(d, 1, 9, g)
    with torch.no_grad():
        alone, _ = model(short, torch.tensor([5]), prev_short)
        # fairseq left-pads sources and right-pads targets
        src = torch.cat([_pad_left(short, 11, d.pad()), long_])
        prev = torch.cat([torch.cat([prev_short, prev_short.new_full((1, 5), d.pad())], 1), prev_long])
        batched, _ = model(src, torch.tensor([5, 11]), prev)
    torch.testing.assert_close(batched[0, :4], alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["lite_transformer_tiny", "lite_transformer_iwslt_de_en_160",
                                  "lite_transformer_wmt_200"])
def test_decoder_is_causal(arch):
    d = make_dictionary()
    model = build_model(arch, dictionary=d).eval()
    g = torch.Generator().manual_seed(2)
    src, prev = random_tokens(d, 2, 6, g), random_tokens(d, 2, 10, g)
    changed = prev.clone()
    changed[:, 6:] = random_tokens(d, 2, 4, g)
    with torch.no_grad():
        a, _ = model(src, torch.tensor([6, 6]), prev)
        b, _ = model(src, torch.tensor([6, 6]), changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("arch", ALL_LITE_ARCHS)
@pytest.mark.parametrize("tgt_len", [5, 36])  # shorter and longer than the largest kernel (31)
def test_incremental_decoding_equals_full_forward(arch, tgt_len):
    d = make_dictionary()
    model = build_model(arch, dictionary=d).eval()
    g = torch.Generator().manual_seed(3)
    src = torch.cat([_pad_left(random_tokens(d, 1, 4, g), 9, d.pad()), random_tokens(d, 2, 9, g)])
    prev = random_tokens(d, 3, tgt_len, g)
    with torch.no_grad():
        full, _ = model(src, torch.tensor([4, 9, 9]), prev)
        full = model.get_normalized_probs((full, None), log_probs=True)
        step = incremental_logprobs(model, src, prev)
    torch.testing.assert_close(step, full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ["lite_transformer_tiny", "lite_transformer_iwslt_de_en_160",
                                  "lite_transformer_wmt_200"])
def test_beam_reordering_follows_the_new_order(arch):
    d = make_dictionary()
    model = build_model(arch, dictionary=d).eval()
    g = torch.Generator().manual_seed(4)
    # two sentences with a beam of 2 each, laid out as fairseq's generator does (beams of a sentence adjacent)
    src = random_tokens(d, 2, 8, g).repeat_interleave(2, dim=0)
    prev = random_tokens(d, 4, 12, g)
    new_order = torch.tensor([1, 1, 3, 2])  # hypotheses are duplicated, dropped and swapped within each sentence
    with torch.no_grad():
        step = incremental_logprobs(model, src, prev, reorder_at=7, new_order=new_order)
        full, _ = model(src.index_select(0, new_order), None, prev.index_select(0, new_order))
        full = model.get_normalized_probs((full, None), log_probs=True)
    torch.testing.assert_close(step[:, 7:], full[:, 7:], atol=1e-5, rtol=0)


def test_gradients_reach_every_parameter():
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", dictionary=d).train()
    out, _ = model(random_tokens(d, 2, 6), torch.tensor([6, 6]), random_tokens(d, 2, 5))
    out.logsumexp(-1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_training_dropouts_draw_their_masks_without_bernoulli_on_the_cpu():
    # embeddings, residual and FFN dropouts are lite_fairseq's Dropout (kernels.dropout); only fairseq's
    # attention modules, whose probabilities-dropout sits inside fairseq, still draw with bernoulli_
    from fairseq.modules import MultiheadAttention
    from fairseq.modules.fairseq_dropout import FairseqDropout
    from lite_fairseq.modules import Dropout

    d = make_dictionary()
    model = build_model("lite_transformer_tiny", ["--attention-dropout", "0", "--dropout", "0.3",
                                                  "--activation-dropout", "0.1"], dictionary=d).train()
    attention_dropouts = {id(m.dropout_module) for m in model.modules() if isinstance(m, MultiheadAttention)}
    for name, module in model.named_modules():
        if isinstance(module, FairseqDropout) and id(module) not in attention_dropouts:
            assert type(module) is Dropout, name
    with torch.profiler.profile() as prof:
        out, _ = model(random_tokens(d, 3, 9), torch.tensor([9, 9, 9]), random_tokens(d, 3, 6))
        out.sum().backward()
    names = [e.name for e in prof.events()]
    assert "aten::bernoulli_" not in names and "aten::random_" in names
