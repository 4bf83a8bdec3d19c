"""The whole-layer decoding step at inference (LiteDecoderLayer.decode_step, DepthwiseConvTBC.step_rows, the
decoder's beam reordering over its stateful modules) computes what the module-by-module step and the full
forward pass compute: for T > K and T < K, every branch kind, pre- and post-norm, with and without GLU and
kernel softmax, padded sources, beam reordering, weights changed after a step, mixed with module-by-module
steps, and in fairseq's SequenceGenerator; training never takes it."""

import copy

import pytest
import torch
from fairseq.models import FairseqIncrementalDecoder

from lite_fairseq.modules import LiteDecoderLayer, fast_step
from model_helpers import (build_model, incremental_logprobs, make_dictionary, padded_source, random_tokens,
                           stepwise_with_attention)

MIXED = ["--decoder-layer-branches", "dynamic:default:128:4", "attn:1:128:4", "attn:1:64:4+lightweight:5:64:2"]
CONFIGS = {
    "tiny, T < K": ((), 4),
    "kernels 3, T > K": (["--decoder-kernel-size-list", "[3,3,3]"], 9),
    "conv-only, attention-only, lightweight layers": (MIXED, 7),
    "pre-norm, no GLU, no kernel softmax": (["--decoder-normalize-before", "True", "--decoder-glu", "False",
                                            "--weight-softmax", "False"], 6),
    "encoder-decoder attention over 3/2/1 encoder layers": (MIXED + ["--decoder-ende-attn-layers", "3", "2", "1"], 6),
}


@pytest.fixture
def layer_steps(monkeypatch):
    """Counts the layer steps taken; ``layer_steps["enabled"] = False`` runs every step module by module."""
    counter = {"steps": 0}
    real = LiteDecoderLayer.decode_step

    def step(self, *args, **kwargs):
        counter["steps"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LiteDecoderLayer, "decode_step", step)
    monkeypatch.setattr(fast_step, "LAYER_STEP", True)
    return counter


def _set_layer_step(on: bool):
    fast_step.LAYER_STEP = on


def _model_and_data(args=(), batch=3, tgt_len=7, seed=0):
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", list(args), dictionary=d).eval()
    g = torch.Generator().manual_seed(seed)
    return model, random_tokens(d, batch, 6, g), random_tokens(d, batch, tgt_len, g)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_layer_step_equals_module_steps_and_full_forward(layer_steps, name):
    args, tgt_len = CONFIGS[name]
    model, src, prev = _model_and_data(args, tgt_len=tgt_len)
    with torch.no_grad():
        fast = incremental_logprobs(model, src, prev, normalize=False)
        # the first step computes the encoder keys through fairseq's module; every later step is a layer step
        assert layer_steps["steps"] == (tgt_len - 1) * len(model.decoder.layers)
        _set_layer_step(False)
        slow = incremental_logprobs(model, src, prev, normalize=False)
        full, _ = model(src, None, prev)
    assert layer_steps["steps"] == (tgt_len - 1) * len(model.decoder.layers)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_layer_step_follows_beam_reordering(layer_steps):
    model, src, prev = _model_and_data(MIXED, batch=4, tgt_len=8)
    src = src[:2].repeat_interleave(2, dim=0)  # two sentences, beams of a sentence adjacent (fairseq's layout)
    new_order = torch.tensor([1, 1, 3, 2])  # hypotheses duplicated, dropped and swapped within each sentence
    with torch.no_grad():
        fast = incremental_logprobs(model, src, prev, reorder_at=5, new_order=new_order, normalize=False)
        _set_layer_step(False)
        slow = incremental_logprobs(model, src, prev, reorder_at=5, new_order=new_order, normalize=False)
        full, _ = model(src.index_select(0, new_order), None, prev.index_select(0, new_order))
    assert layer_steps["steps"] > 0
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast[:, 5:], full[:, 5:], atol=1e-5, rtol=0)


def test_stateful_modules_are_every_module_fairseq_would_reorder():
    model, _, _ = _model_and_data(MIXED)
    for layer in model.decoder.layers:
        walked = [m for m in layer.modules() if hasattr(m, "reorder_incremental_state")]
        assert {id(m) for m in layer.stateful_modules()} == {id(m) for m in walked}


def test_reordering_gives_the_state_fairseqs_walk_gives(layer_steps):
    model, src, prev = _model_and_data(MIXED, batch=4, tgt_len=5)
    encoder_out = model.encoder(src, src_lengths=None)
    state = {}
    with torch.no_grad():
        for t in range(prev.size(1)):
            model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
    new_order = torch.tensor([2, 0, 0, 3])
    ours, theirs = copy.deepcopy(state), copy.deepcopy(state)
    model.decoder.reorder_incremental_state_scripting(ours, new_order)
    FairseqIncrementalDecoder.reorder_incremental_state_scripting(model.decoder, theirs, new_order)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key].keys() == theirs[key].keys()
        for name, value in ours[key].items():
            if value is None:
                assert theirs[key][name] is None
            else:
                assert torch.equal(value, theirs[key][name]), (key, name)
    assert any(not torch.equal(ours[k][n], state[k][n]) for k in ours for n in ours[k] if ours[k][n] is not None)


@pytest.mark.parametrize("need_attn", [True, False])
def test_layer_step_with_padded_sources_and_attention_weights(layer_steps, need_attn):
    results, (full, full_attn), model, steps = stepwise_with_attention(need_attn, _set_layer_step)
    assert layer_steps["steps"] == (steps - 1) * len(model.decoder.layers)
    for got in results:
        torch.testing.assert_close(got[0], full, atol=1e-5, rtol=0)
        torch.testing.assert_close(got[1], full_attn, atol=1e-5, rtol=0)  # the alignment layer's weights


def test_layer_steps_and_module_steps_share_one_incremental_state(layer_steps):
    """Steps 0-2 layer steps, 3-4 module by module, 5-6 layer steps again: still the full forward pass."""
    model, src, prev = _model_and_data(MIXED, tgt_len=7)
    encoder_out = model.encoder(src, src_lengths=None)
    state, outs = {}, []
    with torch.no_grad():
        for t in range(prev.size(1)):
            _set_layer_step(t not in (3, 4))
            out, _ = model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
            outs.append(out)
        full, _ = model(src, None, prev)
    assert layer_steps["steps"] == 4 * len(model.decoder.layers)  # steps 1, 2, 5, 6
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=0)


def test_layer_step_follows_weights_changed_after_a_step(layer_steps):
    model, src, prev = _model_and_data(MIXED, tgt_len=4)
    with torch.no_grad():
        incremental_logprobs(model, src, prev, normalize=False)  # fills the kept fused / normalised weights
        for name, p in model.decoder.named_parameters():
            if any(k in name for k in ("linear1", "weight_linear", "conv.weight", "q_proj", "fc1", "layer_norm")):
                p.mul_(1.3).add_(0.01)
        fast = incremental_logprobs(model, src, prev, normalize=False)
        full, _ = model(src, None, prev)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_training_mode_takes_no_layer_step(layer_steps):
    model, src, prev = _model_and_data(tgt_len=3)
    model.train()
    incremental_logprobs(model, src, prev, normalize=False)
    assert layer_steps["steps"] == 0


def test_language_model_layer_step_equals_full_forward(layer_steps):
    d = make_dictionary()
    model = build_model("lite_transformer_lm_tiny", dictionary=d).eval()
    tokens = random_tokens(d, 2, 6, torch.Generator().manual_seed(3))
    state, outs = {}, []
    with torch.no_grad():
        for t in range(tokens.size(1)):
            outs.append(model.decoder(tokens[:, : t + 1], incremental_state=state)[0])
        full, _ = model.decoder(tokens)
    assert layer_steps["steps"] == tokens.size(1) * len(model.decoder.layers)  # no encoder keys to wait for
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=0)


def test_sequence_generator_output_is_unchanged_by_the_layer_step(layer_steps):
    from fairseq.sequence_generator import SequenceGenerator

    d = make_dictionary()
    model = build_model("lite_transformer_tiny", MIXED, dictionary=d).eval()
    g = torch.Generator().manual_seed(6)
    sample = {"net_input": {"src_tokens": padded_source(d, g), "src_lengths": torch.tensor([3, 6, 6])}}
    found = []
    for on in (True, False):
        _set_layer_step(on)
        gen = SequenceGenerator([model], d, beam_size=3, max_len_a=0, max_len_b=7, min_len=7)
        with torch.no_grad():
            found.append(gen.generate([model], sample))
    assert layer_steps["steps"] > 0
    for fast, slow in zip(*found):
        for a, b in zip(fast, slow):
            assert torch.equal(a["tokens"], b["tokens"])
            torch.testing.assert_close(a["score"], b["score"], atol=1e-5, rtol=0)
            torch.testing.assert_close(a["attention"], b["attention"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("fused_up_to", [0, 10_000])  # products + softmax for every batch, or fused SDPA always
def test_attention_of_a_step_by_either_kernel_equals_the_full_forward(layer_steps, monkeypatch, fused_up_to):
    monkeypatch.setattr(fast_step, "SDPA_MAX_HEADS", fused_up_to)
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", MIXED, dictionary=d).eval()
    for layer in model.decoder.layers:
        layer.make_generation_fast_(need_attn=False)
    g = torch.Generator().manual_seed(7)
    src, prev = padded_source(d, g), random_tokens(d, 3, 6, g)
    with torch.no_grad():
        step = incremental_logprobs(model, src, prev, normalize=False)
        full, _ = model(src, None, prev)
    assert layer_steps["steps"] > 0
    torch.testing.assert_close(step, full, atol=1e-5, rtol=0)
