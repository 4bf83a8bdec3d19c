"""The inference fast path of the LSRA attention branch's decoding step (lite_fairseq.modules.fast_step) computes
what fairseq's MultiheadAttention computes, on the same incremental state: step by step, across beam reordering,
for sentences shorter than the convolution kernel, after weights change, and mixed with fairseq's own steps."""

import pytest
import torch

import lite_fairseq.modules.layers as layers
from lite_fairseq.kernels import linear_cpu
from lite_fairseq.modules import fast_step
import lite_fairseq.modules.lsra as lsra
from model_helpers import (build_model, incremental_logprobs, make_dictionary, padded_source, random_tokens,
                           stepwise_with_attention)

TINY_K3 = ["--decoder-kernel-size-list", "[3,3,3]"]  # kernel shorter than the sentences below, as well as longer


@pytest.fixture
def calls(monkeypatch):
    """Counts the fast steps taken; ``calls.off()`` sends every step through fairseq's MultiheadAttention."""
    counter = {"fast": 0, "enabled": True}
    real_use = lsra.use_fast_step

    def use(*args, **kwargs):
        return counter["enabled"] and real_use(*args, **kwargs)

    def counted(real):
        def step(*args, **kwargs):
            counter["fast"] += 1
            return real(*args, **kwargs)
        return step

    monkeypatch.setattr(lsra, "use_fast_step", use)
    for name in ("self_attention_step", "self_attention_rows"):  # the module-by-module and the layer step
        monkeypatch.setattr(lsra, name, counted(getattr(lsra, name)))
    return counter


def _model_and_data(arch="lite_transformer_tiny", args=(), batch=3, tgt_len=7, seed=0):
    d = make_dictionary()
    model = build_model(arch, list(args), dictionary=d).eval()
    g = torch.Generator().manual_seed(seed)
    return model, random_tokens(d, batch, 6, g), random_tokens(d, batch, tgt_len, g)


@pytest.mark.parametrize("layer_step", [True, False])  # inside the whole-layer step, or module by module
@pytest.mark.parametrize("args,tgt_len", [((), 4), (TINY_K3, 9)])  # T < K (tiny's kernels) and T > K
def test_fast_decoding_step_equals_fairseqs_attention(calls, monkeypatch, args, tgt_len, layer_step):
    monkeypatch.setattr(fast_step, "LAYER_STEP", layer_step)
    model, src, prev = _model_and_data(args=args, tgt_len=tgt_len)
    with torch.no_grad():
        fast = incremental_logprobs(model, src, prev, normalize=False)
        assert calls["fast"] == tgt_len * len(model.decoder.layers)
        calls["enabled"] = False
        slow = incremental_logprobs(model, src, prev, normalize=False)
        full, _ = model(src, None, prev)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_fast_step_follows_beam_reordering(calls):
    model, src, prev = _model_and_data(batch=4, tgt_len=8)
    src = src[:2].repeat_interleave(2, dim=0)  # two sentences, beams of a sentence adjacent (fairseq's layout)
    new_order = torch.tensor([1, 1, 3, 2])  # hypotheses duplicated, dropped and swapped within each sentence
    with torch.no_grad():
        fast = incremental_logprobs(model, src, prev, reorder_at=5, new_order=new_order, normalize=False)
        calls["enabled"] = False
        slow = incremental_logprobs(model, src, prev, reorder_at=5, new_order=new_order, normalize=False)
        full, _ = model(src.index_select(0, new_order), None, prev.index_select(0, new_order))
    assert calls["fast"] > 0
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast[:, 5:], full[:, 5:], atol=1e-5, rtol=0)


def test_fast_and_fairseq_steps_share_one_incremental_state(calls, monkeypatch):
    """Steps 0-2 fast, 3-4 through fairseq's code, 5-6 fast again: still the full forward pass."""
    model, src, prev = _model_and_data(tgt_len=7)
    real_use = lsra.use_fast_step
    step = {"t": 0}
    monkeypatch.setattr(lsra, "use_fast_step", lambda *a, **k: step["t"] not in (3, 4) and real_use(*a, **k))
    encoder_out = model.encoder(src, src_lengths=None)
    state, outs = {}, []
    with torch.no_grad():
        for t in range(prev.size(1)):
            step["t"] = t
            out, _ = model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
            outs.append(out)
        full, _ = model(src, None, prev)
    assert calls["fast"] == 5 * len(model.decoder.layers)
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=0)


def test_fused_projection_follows_changed_weights(calls):
    model, src, prev = _model_and_data(tgt_len=3)
    with torch.no_grad():
        incremental_logprobs(model, src, prev, normalize=False)  # fills the cache of fused q/k/v weights
        for layer in model.decoder.layers:
            for branch in layer.self_attn.branches:
                if hasattr(branch, "q_proj"):
                    branch.q_proj.weight.mul_(1.5)
                    branch.v_proj.bias.add_(0.1)
        fast = incremental_logprobs(model, src, prev, normalize=False)
        full, _ = model(src, None, prev)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_training_mode_keeps_fairseqs_attention(calls):
    model, src, prev = _model_and_data(tgt_len=3)
    model.train()
    incremental_logprobs(model, src, prev, normalize=False)
    assert calls["fast"] == 0


@pytest.fixture
def encoder_calls(monkeypatch):
    """Counts the fast encoder-decoder attention steps; ``encoder_calls["enabled"] = False`` turns them off."""
    counter = {"fast": 0, "enabled": True}
    real_use, real_step = layers.use_encoder_step, layers.encoder_attention_step

    def use(*args, **kwargs):
        return counter["enabled"] and real_use(*args, **kwargs)

    def step(*args, **kwargs):
        counter["fast"] += 1
        return real_step(*args, **kwargs)

    monkeypatch.setattr(layers, "use_encoder_step", use)
    monkeypatch.setattr(layers, "encoder_attention_step", step)
    return counter


@pytest.mark.parametrize("need_attn", [True, False])  # weights asked for (fairseq's default) or not (SDPA)
def test_encoder_attention_fast_step_equals_fairseqs(encoder_calls, need_attn):
    results, (full, full_attn), model, steps = stepwise_with_attention(
        need_attn, lambda enabled: encoder_calls.update(enabled=enabled))
    assert encoder_calls["fast"] == (steps - 1) * len(model.decoder.layers)  # every step after the first
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(results[0][0], full, atol=1e-5, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=0)
    torch.testing.assert_close(results[0][1], full_attn, atol=1e-5, rtol=0)


def test_sequence_generator_output_is_unchanged_by_the_fast_paths(calls, encoder_calls):
    """fairseq's beam search (beam size set on the model, encoder keys shared by a sentence's hypotheses, beam
    reordering at every step) finds the same hypotheses and scores with the fast paths as without them."""
    from fairseq.sequence_generator import SequenceGenerator

    d = make_dictionary()
    model = build_model("lite_transformer_tiny", dictionary=d).eval()
    g = torch.Generator().manual_seed(6)
    sample = {"net_input": {"src_tokens": padded_source(d, g), "src_lengths": torch.tensor([3, 6, 6])}}
    found = []
    for enabled in (True, False):
        calls["enabled"] = encoder_calls["enabled"] = enabled
        gen = SequenceGenerator([model], d, beam_size=3, max_len_a=0, max_len_b=7, min_len=7)
        with torch.no_grad():
            found.append(gen.generate([model], sample))
    assert calls["fast"] > 0 and encoder_calls["fast"] > 0
    for fast, slow in zip(*found):
        for a, b in zip(fast, slow):
            assert torch.equal(a["tokens"], b["tokens"])
            torch.testing.assert_close(a["score"], b["score"], atol=1e-5, rtol=0)


def test_lightweight_kernel_kept_at_inference_follows_weight_changes():
    from lite_fairseq.modules import LightweightConvTBC

    conv = LightweightConvTBC(8, 3, 2, 2, weight_dropout=0.1).eval()
    x = torch.randn(5, 2, 8)
    with torch.no_grad():
        first = conv(x)
        assert conv.normalised_weight(x.dtype) is conv.normalised_weight(x.dtype)  # computed once
        conv.weight.mul_(2.0)
        changed = conv(x)
    expected = torch.softmax(conv.weight.detach(), dim=1)
    torch.testing.assert_close(conv.normalised_weight(x.dtype), expected)
    assert not torch.allclose(first, changed)
    # with autograd on (eval mode or training) nothing is kept and gradients reach the weight
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


@pytest.mark.skipif(linear_cpu.layout_for(1) is None, reason="torch built without MKL's linear ops")
@pytest.mark.parametrize("batch", [1, 4])  # greedy and beam-4 rows: the transposed and the MKL-packed weights
def test_decoding_steps_run_the_few_rows_layouts_and_equal_the_full_forward_pass(monkeypatch, batch):
    model, src, prev = _model_and_data(args=TINY_K3, batch=batch, tgt_len=linear_cpu.LAYOUT_AFTER + 2)
    decoder = model.decoder
    with torch.no_grad():
        steps = incremental_logprobs(model, src, prev, normalize=False)
        for linear in (decoder.output_projection, decoder.layers[0].ffn.fc1, decoder.layers[0].ffn.fc2):
            assert batch in linear_cpu.cached_layouts(linear.weight)
        full, _ = model(src, None, prev)
        monkeypatch.setattr(linear_cpu, "ENABLED", False)
        plain = incremental_logprobs(model, src, prev, normalize=False)
    torch.testing.assert_close(steps, full, atol=1e-5, rtol=0)
    torch.testing.assert_close(steps, plain, atol=1e-5, rtol=0)


def test_forward_hooks_on_the_decoders_linear_layers_still_run_at_every_step():
    model, src, prev = _model_and_data(batch=1, tgt_len=5)
    seen = {"output": 0, "fc1": 0}
    model.decoder.output_projection.register_forward_hook(lambda *_: seen.__setitem__("output", seen["output"] + 1))
    model.decoder.layers[-1].ffn.fc1.register_forward_pre_hook(lambda *_: seen.__setitem__("fc1", seen["fc1"] + 1))
    with torch.no_grad():
        incremental_logprobs(model, src, prev, normalize=False)
    assert seen == {"output": 5, "fc1": 5}
