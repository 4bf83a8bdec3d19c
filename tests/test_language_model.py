"""The lite_transformer_lm model: registration, the paper's preset, adaptive input/softmax, causality, incremental
decoding equal to the full forward, beam reordering, the Transformer LM baselines, and clear errors."""

import argparse

import pytest
import torch
from fairseq.models import ARCH_MODEL_REGISTRY
from fairseq.modules import AdaptiveInput, AdaptiveSoftmax

from lite_fairseq.models import LM_BASELINES, LM_PRESETS
from lite_fairseq.models.lite_transformer_lm import LiteTransformerLanguageModel
from model_helpers import FakeTask, build_model, make_dictionary, parse_model_args, random_tokens

# a small dictionary needs cutoffs that fit it (the paper's 20000,60000 are for WikiText-103)
SMALL_CUTOFFS = ["--adaptive-input-cutoff", "30,60", "--adaptive-softmax-cutoff", "30,60"]
ADAPTIVE_TINY = ["--adaptive-input", "--tie-adaptive-weights", "--tie-adaptive-proj"] + SMALL_CUTOFFS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a small shared machine run 10-100x slower with several intra-op threads fighting for cores;
    one thread for this module, the previous setting restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def lm_dictionary():
    return make_dictionary(96)  # 100 symbols with the 4 specials


@pytest.mark.parametrize("arch", ("lite_transformer_lm", "lite_transformer_lm_tiny") + LM_PRESETS + LM_BASELINES)
def test_every_lm_architecture_registers_and_builds(arch):
    assert arch in ARCH_MODEL_REGISTRY
    d = lm_dictionary()
    extra = SMALL_CUTOFFS if ("wiki103" in arch) else []
    model = build_model(arch, extra, dictionary=d).eval()
    tokens = random_tokens(d, 2, 7)
    with torch.no_grad():
        out, _ = model(tokens)
        lprobs = model.get_normalized_probs((out, None), log_probs=True)
    assert lprobs.shape == (2, 7, len(d))
    assert torch.isfinite(lprobs).all()
    # each position is a distribution over the whole vocabulary, also through the adaptive softmax
    torch.testing.assert_close(lprobs.exp().sum(-1), torch.ones(2, 7), atol=1e-5, rtol=0)
    if arch.startswith("lite"):
        assert isinstance(model, LiteTransformerLanguageModel)


def test_wiki103_preset_is_the_papers_model():
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_wiki103", SMALL_CUTOFFS, dictionary=d)
    dec = model.decoder
    assert len(dec.layers) == 12
    kernels = [layer.self_attn.branches[1].conv.kernel_size for layer in dec.layers]
    assert kernels == [15, 15] + [31] * 4 + [63] * 6
    for layer in dec.layers:
        specs = layer.self_attn.specs
        assert [(s.kind, s.dim, s.heads) for s in specs] == [("attn", 448, 4), ("dynamic", 448, 4)]
        conv_branch = layer.self_attn.branches[1]
        assert conv_branch.glu is True
        assert conv_branch.conv.padding_l == conv_branch.conv.kernel_size - 1  # causal
        assert conv_branch.conv.weight_dropout == pytest.approx(0.14)
        assert layer.ffn.fc1.out_features == 896  # flattened FFN
        assert layer.encoder_attn is None
        assert layer.self_attn_residual.normalize_before is True  # pre-norm
    assert dec.layer_norm is None  # no final norm, as the authors' config
    assert dec.dropout_module.p == pytest.approx(0.21)
    assert isinstance(dec.embed_tokens, AdaptiveInput) and isinstance(dec.adaptive_softmax, AdaptiveSoftmax)
    assert dec.output_projection is None
    # tied: the softmax head reuses the first band's embedding, the tails reuse the input's bands and projections
    assert dec.adaptive_softmax.head.word_proj.weight is dec.embed_tokens.embeddings[0][0].weight
    assert dec.adaptive_softmax.tail[0][2].weight is dec.embed_tokens.embeddings[1][0].weight
    assert dec.adaptive_softmax.tail[0][0].weight is dec.embed_tokens.embeddings[1][1].weight
    assert dec.embed_tokens.embeddings[1][0].weight.shape[1] == 896 // 4  # factor 4
    args = parse_model_args("lite_transformer_lm_wiki103")
    assert (args.adaptive_input_cutoff, args.adaptive_softmax_cutoff) == ("20000,60000", "20000,60000")
    assert args.attention_dropout == pytest.approx(0.14)
    # the paper's 37.2M parameters exclude the (adaptive) embeddings and softmax
    n = sum(p.numel() for name, p in model.named_parameters()
            if "embed_tokens" not in name and "adaptive_softmax" not in name)
    assert abs(n - 37.2e6) / 37.2e6 < 0.01, n


def test_small_preset_and_baselines_have_the_documented_shapes():
    d = lm_dictionary()
    small = build_model("lite_transformer_lm_wiki103_small", SMALL_CUTOFFS, dictionary=d)
    assert len(small.decoder.layers) == 12 and small.decoder.embed_tokens.embedding_dim == 592
    assert [(s.kind, s.dim) for s in small.decoder.layers[0].self_attn.specs] == [("attn", 296), ("dynamic", 296)]
    base = build_model("transformer_lm_paper_wiki103", SMALL_CUTOFFS, dictionary=d)
    assert len(base.decoder.layers) == 12
    assert base.decoder.embed_dim == 512
    assert base.decoder.layers[0].fc1.out_features == 2048
    assert base.decoder.layers[0].self_attn.num_heads == 8
    assert isinstance(base.decoder.embed_tokens, AdaptiveInput) and base.decoder.adaptive_softmax is not None
    args = parse_model_args("transformer_lm_paper_wiki103")
    assert args.adaptive_softmax_cutoff == "20000,60000" and args.tie_adaptive_weights


def test_command_line_overrides_presets_and_alias():
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_wiki103", SMALL_CUTOFFS + [
        "--decoder-layers", "2", "--decoder-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
        "--decoder-kernel-size-list", "3", "5", "--decoder-attention-heads", "2", "--no-decoder-final-norm", "False"],
        dictionary=d)
    assert len(model.decoder.layers) == 2
    assert model.decoder.layers[0].self_attn.specs[0].heads == 2
    assert [layer.self_attn.branches[1].conv.kernel_size for layer in model.decoder.layers] == [3, 5]
    assert model.decoder.layer_norm is not None


def test_decoder_is_causal():
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_tiny", ADAPTIVE_TINY, dictionary=d).eval()
    g = torch.Generator().manual_seed(2)
    tokens = random_tokens(d, 2, 12, g)
    changed = tokens.clone()
    changed[:, 7:] = random_tokens(d, 2, 5, g)
    with torch.no_grad():
        a = model.get_normalized_probs(model(tokens), log_probs=True)
        b = model.get_normalized_probs(model(changed), log_probs=True)
    torch.testing.assert_close(a[:, :7], b[:, :7], atol=1e-5, rtol=0)  # float32 rounding differs with threads
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def _incremental_lprobs(model, tokens, reorder_at=None, new_order=None):
    """Score ``tokens`` one step at a time, as fairseq's SequenceGenerator does while sampling."""
    state = {}
    steps = []
    for t in range(tokens.size(1)):
        if reorder_at is not None and t == reorder_at:
            model.decoder.reorder_incremental_state_scripting(state, new_order)
            tokens = tokens.index_select(0, new_order)
        out = model.decoder(tokens[:, : t + 1], incremental_state=state)
        steps.append(model.get_normalized_probs(out, log_probs=True))
    return torch.cat(steps, dim=1)


@pytest.mark.parametrize("extra", [[], ADAPTIVE_TINY, ADAPTIVE_TINY + ["--decoder-learned-pos"]])
@pytest.mark.parametrize("length", [4, 20])  # shorter and longer than the largest kernel (15)
def test_incremental_decoding_equals_full_forward(extra, length):
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_tiny", extra, dictionary=d).eval()
    tokens = random_tokens(d, 3, length, torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model.get_normalized_probs(model(tokens), log_probs=True)
        step = _incremental_lprobs(model, tokens)
    assert full.dtype == torch.float32
    torch.testing.assert_close(step, full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("length", [5, 70])  # shorter and longer than the preset's largest kernel (63)
def test_incremental_decoding_of_the_papers_preset_equals_full_forward(length):
    """The 12-layer preset (pre-norm, no final norm) at random initialisation puts log-probabilities down to about
    -90, and float32 rounding differs between the two paths (fairseq's attention runs its fused kernel on the full
    sequence, bmm + softmax step by step): the features agree to ~1e-6 relative, the log-probabilities to ~4e-5
    absolute at their largest. So here the probabilities, which sampling draws from, are held to 1e-5 and the
    log-probabilities to 1e-5 relative; a wrong convolution buffer or position is off by orders of magnitude more."""
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_wiki103", SMALL_CUTOFFS, dictionary=d).eval()
    tokens = random_tokens(d, 2, length, torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model.get_normalized_probs(model(tokens), log_probs=True)
        step = _incremental_lprobs(model, tokens)
    torch.testing.assert_close(step.exp(), full.exp(), atol=1e-5, rtol=0)
    torch.testing.assert_close(step, full, atol=1e-5, rtol=1e-5)


def test_beam_reordering_follows_the_new_order():
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_tiny", ADAPTIVE_TINY, dictionary=d).eval()
    g = torch.Generator().manual_seed(4)
    tokens = random_tokens(d, 4, 14, g)
    new_order = torch.tensor([1, 1, 3, 2])
    with torch.no_grad():
        step = _incremental_lprobs(model, tokens, reorder_at=9, new_order=new_order)
        full = model.get_normalized_probs(model(tokens.index_select(0, new_order)), log_probs=True)
    torch.testing.assert_close(step[:, 9:], full[:, 9:], atol=1e-5, rtol=0)


def test_adaptive_softmax_loss_trains_every_parameter():
    d = lm_dictionary()
    model = build_model("lite_transformer_lm_tiny", ADAPTIVE_TINY, dictionary=d).train()
    tokens = random_tokens(d, 2, 10)
    target = torch.cat([tokens[:, 1:], tokens.new_full((2, 1), d.eos())], dim=1)
    features, _ = model(tokens)
    logits, targets = model.decoder.adaptive_softmax(features, target.reshape(-1))
    loss = sum(torch.nn.functional.cross_entropy(lg, tg, reduction="sum")
               for lg, tg in zip(logits, targets) if lg is not None)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


@pytest.mark.parametrize("extra,message", [
    (["--adaptive-input", "--adaptive-input-cutoff", "20000,60000"],
     r"--adaptive-input-cutoff: cutoffs 20000,60000 do not fit a dictionary of 100 symbols"),
    (["--adaptive-softmax-cutoff", "60,30"], r"--adaptive-softmax-cutoff: cutoffs must be positive and strictly"),
    (["--adaptive-softmax-cutoff", "30,x"], r"--adaptive-softmax-cutoff: expected comma-separated integers"),
    (["--adaptive-input"], r"--adaptive-input needs --adaptive-input-cutoff"),
    (["--adaptive-input", "--tie-adaptive-weights", "--adaptive-input-cutoff", "30,60",
      "--adaptive-softmax-cutoff", "30,70"], r"--tie-adaptive-weights needs .* differs from --adaptive-softmax-cutoff"),
    (["--adaptive-input", "--tie-adaptive-weights", "--adaptive-input-cutoff", "30,60"],
     r"--tie-adaptive-weights needs .*--adaptive-softmax-cutoff is not set"),
    (["--tie-adaptive-proj"], r"--tie-adaptive-proj needs --tie-adaptive-weights"),
    (["--adaptive-softmax-cutoff", "30,60", "--share-decoder-input-output-embed"],
     r"--share-decoder-input-output-embed cannot be combined with --adaptive-softmax-cutoff"),
    (["--decoder-output-dim", "32"], r"--decoder-output-dim 32 must equal --decoder-embed-dim 128"),
])
def test_bad_adaptive_options_are_named(extra, message):
    with pytest.raises(ValueError, match=message):
        build_model("lite_transformer_lm_tiny", extra, dictionary=lm_dictionary())


def test_malformed_bool_option_is_rejected_at_parse_time():
    with pytest.raises(argparse.ArgumentError, match="expected a boolean"):
        parse_model_args("lite_transformer_lm_tiny", ["--adaptive-input", "maybe"])


def test_input_longer_than_learned_positions_is_refused_clearly():
    d = lm_dictionary()
    args = parse_model_args("lite_transformer_lm_tiny", ["--decoder-learned-pos"])
    args.tokens_per_sample = 16  # what fairseq's language_modeling task passes; it sizes the position table
    model = ARCH_MODEL_REGISTRY["lite_transformer_lm_tiny"].build_model(args, FakeTask(d)).eval()
    assert model.max_positions() == 16
    with torch.no_grad():
        model(random_tokens(d, 1, 16))  # exactly the limit is fine
        too_long = r"17 tokens is longer than the 16 learned positions .*--tokens-per-sample"
        with pytest.raises(ValueError, match=too_long):
            model(random_tokens(d, 1, 17))

