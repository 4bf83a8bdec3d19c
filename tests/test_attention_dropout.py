"""Attention dropout of Lite Transformer's attention modules (the LSRA attention branches and the decoder's
encoder-decoder attention) on the CPU: the plugin's cheaper draw, the same expectation, and inference untouched."""

import pytest
import torch
from fairseq.modules import MultiheadAttention
from model_helpers import build_model, make_dictionary, random_tokens

from lite_fairseq.modules import BranchSpec, LayerConfig, LongShortRangeAttention
from lite_fairseq.modules.dropout import Dropout

DROPOUTS = ["--dropout", "0.1", "--attention-dropout", "0.1", "--weight-dropout", "0.1", "--activation-dropout", "0.1"]


def _attention_modules(model):
    return [m for m in model.modules() if isinstance(m, MultiheadAttention)]


def _training_step(model, d):
    g = torch.Generator().manual_seed(0)
    src, prev = random_tokens(d, 3, 9, g), random_tokens(d, 3, 7, g)
    src[0, :3] = d.pad()  # a padding mask reaches the encoder's attention
    logits, _ = model(src, src.ne(d.pad()).sum(1), prev)
    logits.float().logsumexp(-1).sum().backward()


def test_every_attention_module_drops_its_weights_with_the_plugins_dropout():
    model = build_model("lite_transformer_tiny", DROPOUTS)
    modules = _attention_modules(model)
    assert len(modules) == 3 + 3 + 3  # encoder branches, decoder branches, encoder-decoder attention
    assert all(isinstance(m.dropout_module, Dropout) and m.dropout_module.p == 0.1 for m in modules)


def test_a_training_step_on_the_cpu_draws_no_bernoulli():
    # torch's fused attention would draw its attention-dropout mask with bernoulli_, one sample per weight
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", DROPOUTS, d).train()
    with torch.profiler.profile() as prof:
        _training_step(model, d)
    assert "aten::bernoulli_" not in {e.name for e in prof.events()}


def test_only_calls_that_drop_attention_weights_leave_torchs_fused_attention():
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", DROPOUTS, d)
    branch = model.encoder.layers[0].self_attn.branches[0]
    seen = []
    branch.register_forward_pre_hook(lambda mod, args: seen.append(mod.skip_embed_dim_check))
    model.train()
    _training_step(model, d)
    model.eval()
    with torch.no_grad():
        model(random_tokens(d, 2, 5), torch.full((2,), 5), random_tokens(d, 2, 4))
    model.train()
    branch.dropout_module.p = 0.0
    _training_step(model, d)
    assert seen == [True, False, False]  # training with dropout; inference; training without attention dropout
    assert branch.skip_embed_dim_check is False  # restored after the call


def test_a_module_that_skips_the_check_already_keeps_it():
    # the int8 path and the attention maps set the flag themselves; a training call must not clear it
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", DROPOUTS, d).train()
    for m in _attention_modules(model):
        m.skip_embed_dim_check = True
    _training_step(model, d)
    assert all(m.skip_embed_dim_check for m in _attention_modules(model))


@pytest.mark.parametrize("masked", [False, True])
def test_attention_dropout_keeps_the_expected_output(masked):
    # inverted dropout on the attention weights: averaged over many masks, the output is the output without dropout
    torch.manual_seed(0)
    cfg = LayerConfig(embed_dim=16, ffn_dim=16, branch_specs=(BranchSpec("attn", 16, 4),), kernel_size=3,
                      attention_dropout=0.5)
    lsra = LongShortRangeAttention(cfg).double()
    x = torch.randn(5, 2, 16, dtype=torch.float64)
    padding = torch.zeros(2, 5, dtype=torch.bool)
    if masked:
        padding[1, :2] = True
    with torch.no_grad():
        expected, _ = lsra.eval()(x, key_padding_mask=padding)
        lsra.train()
        samples = torch.stack([lsra(x, key_padding_mask=padding)[0] for _ in range(4000)])
    assert not torch.allclose(samples[0], expected)  # dropout is on
    spread = samples.std(0) / 4000 ** 0.5
    assert ((samples.mean(0) - expected).abs() < 6 * spread + 1e-9).all()
