"""Lightweight and dynamic convolution layers against fairseq's own implementations (an independent reference),
in float64, on many shapes; and the LSRA layer's channel split."""

import dataclasses

import pytest
import torch
from fairseq.modules import MultiheadAttention
from fairseq.modules.dynamic_convolution import DynamicConv1dTBC
from fairseq.modules.lightweight_convolution import LightweightConv1dTBC

from lite_fairseq import kernels
from lite_fairseq.kernels.dropout_cpu import drop_threshold, field_bits, random_fields
from lite_fairseq.kernels.dynamic_conv_torch import dynamic_conv_torch, softmax_over_taps
from lite_fairseq.modules import (BranchSpec, ConvBranch, DynamicConvTBC, LayerConfig, LightweightConvTBC,
                                  LiteDecoderLayer, LiteEncoderLayer, LongShortRangeAttention, conv_padding)

SHAPES = [  # T, B, C, H, K
    (1, 1, 4, 1, 1), (5, 2, 8, 2, 3), (7, 3, 12, 4, 7), (16, 2, 16, 4, 15), (40, 2, 8, 2, 31), (9, 1, 6, 3, 4),
    (70, 1, 4, 2, 63),
]


def naive_conv(x, weight, padding_l):
    """out[t, b, c] = sum_k weight[b, h(c), k, t] * x[t + k - padding_l, b, c], by explicit loops (float64)."""
    T, B, C = x.shape
    H, K = weight.shape[1], weight.shape[2]
    out = torch.zeros_like(x)
    for t in range(T):
        for k in range(K):
            s = t + k - padding_l
            if 0 <= s < T:
                for h in range(H):
                    cs = slice(h * (C // H), (h + 1) * (C // H))
                    out[t, :, cs] += weight[:, h, k, t].unsqueeze(1) * x[s, :, cs]
    return out


@pytest.mark.parametrize("T,B,C,H,K", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_layers_match_a_naive_float64_reference(T, B, C, H, K, causal):
    torch.manual_seed(T + K)
    x = torch.randn(T, B, C, dtype=torch.float64)
    pad = conv_padding(K, causal)
    light = LightweightConvTBC(C, K, pad, H).double()
    w = torch.softmax(light.weight, dim=1).view(1, H, K, 1).expand(B, H, K, T)
    torch.testing.assert_close(light(x), naive_conv(x, w, pad), rtol=1e-12, atol=1e-12)
    dyn = DynamicConvTBC(C, K, pad, H).double()
    logits = (x @ dyn.weight_linear.weight.T).view(T, B, H, K).permute(1, 2, 3, 0)
    torch.testing.assert_close(dyn(x), naive_conv(x, torch.softmax(logits, dim=2), pad), rtol=1e-12, atol=1e-12)


# fairseq's layers compute the softmax over taps in float32 even for float64 input: compare at that precision
FAIRSEQ_TOL = dict(rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("T,B,C,H,K", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("softmax", [True, False])
def test_lightweight_matches_fairseq(T, B, C, H, K, causal, softmax):
    torch.manual_seed(T * 7 + K)
    ours = LightweightConvTBC(C, K, conv_padding(K, causal), H, weight_softmax=softmax).double()
    ref = LightweightConv1dTBC(C, K, padding_l=conv_padding(K, causal), num_heads=H, weight_softmax=softmax).double()
    with torch.no_grad():
        ref.weight.copy_(ours.weight.view(H, 1, K))
    x = torch.randn(T, B, C, dtype=torch.float64, requires_grad=True)
    y = ours(x)
    torch.testing.assert_close(y, ref(x), **FAIRSEQ_TOL)
    g = torch.randn_like(y)
    (gx,) = torch.autograd.grad(y, x, g)
    (gx_ref,) = torch.autograd.grad(ref(x), x, g)
    torch.testing.assert_close(gx, gx_ref, **FAIRSEQ_TOL)


@pytest.mark.parametrize("T,B,C,H,K", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_dynamic_matches_fairseq(T, B, C, H, K, causal):
    if causal and K > T:
        pytest.skip("fairseq narrows the taps before the softmax when K > T (its unfold path); compared below")
    torch.manual_seed(T * 5 + K)
    ours = DynamicConvTBC(C, K, conv_padding(K, causal), H).double()
    ref = DynamicConv1dTBC(C, K, padding_l=conv_padding(K, causal), num_heads=H, weight_softmax=True).double()
    with torch.no_grad():
        ref.weight_linear.weight.copy_(ours.weight_linear.weight)
    x = torch.randn(T, B, C, dtype=torch.float64, requires_grad=True)
    for unfold in (True, False):
        torch.testing.assert_close(ours(x), ref(x, unfold=unfold), **FAIRSEQ_TOL)
    y = ours(x)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, ours.weight_linear.weight], g)
    grads_ref = torch.autograd.grad(ref(x, unfold=True), [x, ref.weight_linear.weight], g)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, **FAIRSEQ_TOL)


def test_short_causal_sequences_use_zero_padding_semantics():
    """Taps that reach before the sentence read zeros and keep their softmax mass (the same as incremental
    decoding sees), which is fairseq's band ('expanded') path."""
    T, B, C, H, K = 5, 2, 8, 2, 15
    torch.manual_seed(0)
    ours = DynamicConvTBC(C, K, K - 1, H).double()
    ref = DynamicConv1dTBC(C, K, padding_l=K - 1, num_heads=H, weight_softmax=True).double()
    with torch.no_grad():
        ref.weight_linear.weight.copy_(ours.weight_linear.weight)
    x = torch.randn(T, B, C, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x, unfold=False), **FAIRSEQ_TOL)


GRAD_MODES = {"autograd": torch.enable_grad, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


@pytest.mark.parametrize("grad_mode", sorted(GRAD_MODES))
@pytest.mark.parametrize("softmax", [True, False])
@pytest.mark.parametrize("K", [1, 2, 5, 15])
@pytest.mark.parametrize("cls", [LightweightConvTBC, DynamicConvTBC])
def test_single_step_path_equals_the_full_convolution(cls, K, softmax, grad_mode):
    """Under autograd a step writes a new ring; without it the ring is updated in place: both must be exact."""
    T, B, C, H = 12, 3, 8, 2  # K=15 > T: every step reaches before the sentence
    torch.manual_seed(1)
    conv = cls(C, K, K - 1, H, weight_softmax=softmax).double().eval()
    x = torch.randn(T, B, C, dtype=torch.float64)
    with GRAD_MODES[grad_mode]():
        _check_steps_equal_full(conv, x, T)


def _check_steps_equal_full(conv, x, T):
    full = conv(x)
    state = {}
    steps = [conv(x[t:t + 1], incremental_state=state) for t in range(T)]
    torch.testing.assert_close(torch.cat(steps), full, rtol=1e-10, atol=1e-10)
    # several new steps at once continue the same state
    state = {}
    first = conv(x[:4], incremental_state=state)
    rest = conv(x[4:], incremental_state=state)
    torch.testing.assert_close(torch.cat([first, rest]), full, rtol=1e-10, atol=1e-10)
    # a prefix of several steps, then single steps (fairseq's prefix decoding)
    state = {}
    outs = [conv(x[:3], incremental_state=state)] + [conv(x[t:t + 1], incremental_state=state) for t in range(3, T)]
    torch.testing.assert_close(torch.cat(outs), full, rtol=1e-10, atol=1e-10)
    # single steps (the ring's oldest slot moved on), then several at once, then single steps again
    state = {}
    outs = ([conv(x[t:t + 1], incremental_state=state) for t in range(5)] + [conv(x[5:8], incremental_state=state)]
            + [conv(x[t:t + 1], incremental_state=state) for t in range(8, T)])
    torch.testing.assert_close(torch.cat(outs), full, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("grad_mode", sorted(GRAD_MODES))
@pytest.mark.parametrize("cls", [LightweightConvTBC, DynamicConvTBC])
def test_reorder_incremental_state_moves_each_sentence_history(cls, grad_mode):
    T, B, C, H, K = 9, 4, 8, 2, 5
    torch.manual_seed(2)
    conv = cls(C, K, K - 1, H).double().eval()
    x = torch.randn(T, B, C, dtype=torch.float64)
    order = torch.tensor([2, 2, 0, 3])
    order2 = torch.tensor([1, 0, 0])  # then a finished sentence leaves the batch
    with GRAD_MODES[grad_mode]():
        state = {}
        for t in range(4):  # 4 = K-1 steps: the ring is full and its oldest slot back at 0; then 2 more steps
            conv(x[t:t + 1], incremental_state=state)
        conv.reorder_incremental_state(state, order)
        got = [conv(x[t:t + 1, order], incremental_state=state) for t in range(4, 6)]
        conv.reorder_incremental_state(state, order2)
        got = torch.cat([torch.cat(got)[:, order2]] + [conv(x[t:t + 1, order][:, order2], incremental_state=state)
                                                     for t in range(6, T)])
        expected = conv(x[:, order][:, order2])[4:]  # the full convolution of the reordered sentences
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cls", [LightweightConvTBC, DynamicConvTBC])
def test_gradients_through_single_steps_equal_the_full_convolutions(cls):
    T, B, C, H, K = 8, 2, 8, 2, 5
    torch.manual_seed(4)
    conv = cls(C, K, K - 1, H).double().eval()
    x = torch.randn(T, B, C, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(T, B, C, dtype=torch.float64)
    full_grads = torch.autograd.grad((conv(x) * probe).sum(), [x, *conv.parameters()])
    state = {}
    steps = torch.cat([conv(x[t:t + 1], incremental_state=state) for t in range(T)])
    step_grads = torch.autograd.grad((steps * probe).sum(), [x, *conv.parameters()])
    for got, expected in zip(step_grads, full_grads):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_incremental_state_needs_a_causal_convolution():
    conv = DynamicConvTBC(8, 5, 2, 2)
    with pytest.raises(RuntimeError, match="causal"):
        conv(torch.randn(1, 1, 8), incremental_state={})


def test_weight_dropout_drops_kernel_taps_in_training_only():
    """DropConnect on the normalised kernels: in training, taps zeroed and the rest scaled by 1/(1-p); in eval, the
    plain softmax kernels. On the CPU the mask is the documented draw of kernels.conv_cpu_logits (the layers'
    dropout fields in B x H x K x T order, a tap kept when its field is at least the threshold), reproduced here."""
    conv = DynamicConvTBC(8, 7, 3, 2, weight_dropout=0.5, backend="torch")
    x = torch.randn(10, 2, 8, generator=torch.Generator().manual_seed(0))
    x_bct = x.permute(1, 2, 0)
    with torch.no_grad():
        weight = softmax_over_taps(conv.kernel_logits(x), dim=2)
        torch.testing.assert_close(conv.eval()(x), dynamic_conv_torch(x_bct, weight, 3).permute(2, 0, 1))
        torch.manual_seed(1)
        trained = conv.train()(x)
        torch.manual_seed(1)
        draws = random_fields(2 * 2 * 7 * 10, field_bits(0.5)).view(2, 2, 7, 10)  # B x H x K x T
        dropped = weight * (draws >= drop_threshold(0.5, field_bits(0.5))) / (1 - 0.5)
        assert 0.3 < float((dropped == 0).float().mean()) < 0.7
        torch.testing.assert_close(trained, dynamic_conv_torch(x_bct, dropped, 3).permute(2, 0, 1))


def test_lsra_splits_channels_between_branches():
    """Each branch sees only its slice: the attention half equals a stand-alone MultiheadAttention on that slice."""
    torch.manual_seed(0)
    cfg = LayerConfig(embed_dim=32, ffn_dim=32, branch_specs=(BranchSpec("attn", 16, 4), BranchSpec("dynamic", 16, 4)),
                      kernel_size=3, glu=True)
    lsra = LongShortRangeAttention(cfg).double().eval()
    x = torch.randn(6, 2, 32, dtype=torch.float64)
    y, _ = lsra(x)
    mha = MultiheadAttention(16, 4, self_attention=True).double()
    mha.load_state_dict(lsra.branches[0].state_dict())
    ref, _ = mha(x[..., :16], x[..., :16], x[..., :16])
    torch.testing.assert_close(y[..., :16], ref)
    torch.testing.assert_close(y[..., 16:], lsra.branches[1](x[..., 16:]))
    x2 = x.clone()
    x2[..., 16:] += 1.0  # changing the convolution's channels leaves the attention output alone
    torch.testing.assert_close(lsra(x2)[0][..., :16], y[..., :16])


def test_padding_can_be_masked_before_the_input_projection_as_the_authors_do():
    torch.manual_seed(0)
    T, B, C = 7, 2, 8
    x = torch.randn(T, B, C, dtype=torch.float64)
    mask = torch.zeros(B, T, dtype=torch.bool)
    mask[0, :3] = True  # left padding of the first sentence
    cfg = LayerConfig(embed_dim=C, ffn_dim=C, branch_specs=(BranchSpec("dynamic", C, 2),), kernel_size=5, glu=True)
    after = ConvBranch(cfg, cfg.branch_specs[0]).double()
    before = ConvBranch(dataclasses.replace(cfg, conv_mask_before_linear=True), cfg.branch_specs[0]).double()
    before.load_state_dict(after.state_dict())
    with torch.no_grad():
        after.linear1.bias.normal_()  # a non-zero bias is what makes the two differ
        before.linear1.bias.copy_(after.linear1.bias)
    zeroed = x.masked_fill(mask.t().unsqueeze(2), 0.0)
    h = torch.nn.functional.glu(before.linear1(zeroed), dim=-1)
    expected = before.linear2(before.conv(h))
    torch.testing.assert_close(before(x, padding_mask=mask), expected)
    # the default zeroes after the projection: padding reads as exact zeros
    h = torch.nn.functional.glu(after.linear1(x), dim=-1).masked_fill(mask.t().unsqueeze(2), 0.0)
    torch.testing.assert_close(after(x, padding_mask=mask), after.linear2(after.conv(h)))
    assert not torch.allclose(before(x, padding_mask=mask)[3:, 0], after(x, padding_mask=mask)[3:, 0])


def test_lightweight_convolution_runs_through_the_lightweight_kernel(monkeypatch):
    """The full-sequence path hands the H x K kernel to kernels.lightweight_conv (no B x H x K x T kernel here)."""
    calls = []
    original = kernels.lightweight_conv

    def spy(x, weight, padding_l, backend="auto"):
        calls.append((tuple(x.shape), tuple(weight.shape), padding_l, backend))
        return original(x, weight, padding_l, backend)

    monkeypatch.setattr(kernels, "lightweight_conv", spy)
    conv = LightweightConvTBC(8, 5, 2, 2, backend="torch")
    conv(torch.randn(6, 3, 8))
    assert calls == [((3, 8, 6), (2, 5), 2, "torch")]


def test_layer_config_refuses_branches_that_do_not_fill_the_layer():
    with pytest.raises(ValueError, match=r"branch widths 16 \+ 8 = 24 do not add up to the embedding dimension 32"):
        LayerConfig(embed_dim=32, ffn_dim=32, branch_specs=(BranchSpec("attn", 16, 4), BranchSpec("dynamic", 8, 2)),
                    kernel_size=3)
    with pytest.raises(ValueError, match="kernel size must be at least 1"):
        LayerConfig(embed_dim=8, ffn_dim=8, branch_specs=(BranchSpec("dynamic", 8, 2),), kernel_size=0)
    with pytest.raises(ValueError, match="unknown branch type 'conv'"):
        LayerConfig(embed_dim=8, ffn_dim=8, branch_specs=(BranchSpec("conv", 8, 2),), kernel_size=3)


def test_encoder_layers_are_centred_and_decoder_layers_causal():
    cfg = LayerConfig(embed_dim=8, ffn_dim=8, branch_specs=(BranchSpec("dynamic", 8, 2),), kernel_size=5)
    causal = dataclasses.replace(cfg, causal=True)
    assert LiteEncoderLayer(cfg).self_attn.branches[0].conv.padding_l == 2
    assert LiteDecoderLayer(causal).self_attn.branches[0].conv.padding_l == 4
    assert LiteDecoderLayer(causal).encoder_attn is None  # no encoder attention heads: the language model's layer
    with pytest.raises(ValueError, match="causal=False"):
        LiteEncoderLayer(causal)
    with pytest.raises(ValueError, match="causal=True"):
        LiteDecoderLayer(cfg)
