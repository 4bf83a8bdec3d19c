"""The attention-map command: the diagonal-mass number on hand-made matrices, and maps + PNG from tiny untrained
Lite Transformer and fairseq Transformer models (no data directory, no checkpoint)."""

import struct

import pytest
import torch
from fairseq.modules import MultiheadAttention

from lite_fairseq.analysis import attention_maps as am
from model_helpers import FakeTask, build_model, make_dictionary

LITE = ("lite_transformer_tiny", ["--encoder-embed-dim", "32", "--decoder-embed-dim", "32"])
TRANSFORMER = ("transformer_paper_iwslt_128", ["--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
                                               "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
                                               "--encoder-layers", "2", "--decoder-layers", "2"])


def test_diagonal_mass_of_hand_made_matrices():
    t = 10
    assert float(am.diagonal_mass(torch.eye(t))) == pytest.approx(1.0)
    # uniform rows: row i sees min(i,2) + 1 + min(t-1-i,2) keys of the band, 3+4+5*6+4+3 = 44 of 100
    assert float(am.diagonal_mass(torch.full((t, t), 1.0 / t))) == pytest.approx(0.44)
    assert am.uniform_diagonal_mass(t) == pytest.approx(0.44)
    # everything on the first key: only queries 0, 1, 2 are within +-2 of it
    first = torch.zeros(t, t)
    first[:, 0] = 1.0
    assert float(am.diagonal_mass(first)) == pytest.approx(0.3)
    # width 0 is the diagonal itself; width 1 on a shifted identity catches every row but the last
    shifted = torch.roll(torch.eye(t), 1, dims=1)
    assert float(am.diagonal_mass(shifted, width=0)) == pytest.approx(0.0)
    assert float(am.diagonal_mass(shifted, width=1)) == pytest.approx(0.9)
    # padded queries are left out: 6 real tokens of the first-key matrix -> 3 of 6
    pad = torch.tensor([False] * 6 + [True] * 4)
    assert float(am.diagonal_mass(first, key_padding_mask=pad)) == pytest.approx(0.5)
    # batched: leading dimensions are kept
    both = torch.stack([torch.eye(t), first])
    assert am.diagonal_mass(both).tolist() == pytest.approx([1.0, 0.3])


@pytest.mark.parametrize("arch,overrides", [LITE, TRANSFORMER], ids=["lite", "transformer"])
def test_maps_are_per_head_attention_and_leave_the_model_unchanged(arch, overrides):
    dictionary = make_dictionary(30)
    model = build_model(arch, overrides, dictionary).eval()
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(dictionary.nspecial, len(dictionary), (2, 9), generator=g)
    tokens[1, 6:] = dictionary.pad()
    lengths = torch.tensor([9, 6])
    pad_mask = tokens.eq(dictionary.pad())

    with torch.no_grad():
        plain = model.encoder(tokens, src_lengths=lengths)["encoder_out"][0]
    # record the inputs each attention module gets, to call it ourselves the model's way
    modules = [m for layer in am.attention_modules(model) for m in layer]
    assert all(isinstance(m, MultiheadAttention) for m in modules)
    inputs = {}
    hooks = [m.register_forward_pre_hook(lambda mod, a, kw, k=k: inputs.__setitem__(k, kw), with_kwargs=True)
             for k, m in enumerate(modules)]
    maps = am.encoder_self_attention(model, tokens, lengths)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        again = model.encoder(tokens, src_lengths=lengths)["encoder_out"][0]
    torch.testing.assert_close(again, plain, rtol=0, atol=0)  # hooks removed, nothing left behind

    assert len(maps) == len(model.encoder.layers)
    for k, (m, module) in enumerate(zip(maps, modules)):
        assert m.shape == (module.num_heads, 2, 9, 9)
        torch.testing.assert_close(m.sum(-1), torch.ones(module.num_heads, 2, 9))
        assert float(m[:, 1, :, 6:].abs().max()) == 0.0  # no attention on padding
        # the heads average to what fairseq's own (fast) path returns for the same call
        kw = dict(inputs[k], need_weights=True, need_head_weights=False)
        with torch.no_grad():
            _, averaged = module(**kw)
        torch.testing.assert_close(m.mean(0), averaged, rtol=1e-5, atol=1e-6)

    mass = am.model_diagonal_mass(maps, pad_mask)
    assert len(mass["per_layer_head"]) == len(maps)
    assert 0.0 < mass["mean"] < 1.0


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("arch,overrides", [LITE, TRANSFORMER], ids=["lite", "transformer"])
def test_run_writes_a_png_and_the_number(tmp_path, arch, overrides):
    dictionary = make_dictionary(30)
    model = build_model(arch, overrides, dictionary).eval()
    png = tmp_path / "maps.png"
    res = am.run("untrained", "-", "w3 w7 w1 w4 w9 w2", str(png), model=model, task=FakeTask(dictionary))
    width, height = _png_size(png)
    n_layers = len(model.encoder.layers)
    assert width > 300 and height > 100 * n_layers
    s = res["sentence"]
    assert s["tokens"] == ["w3", "w7", "w1", "w4", "w9", "w2", "</s>"]
    assert 0.0 < s["mean"] < 1.0 and len(s["per_layer"]) == n_layers
    assert s["chance"] == pytest.approx(am.uniform_diagonal_mass(7))
    # the overall number is the mean of the per-layer, per-head numbers of the drawn sentence
    flat = [v for layer in s["per_layer_head"] for v in layer]
    assert s["mean"] == pytest.approx(sum(flat) / len(flat))


def test_an_unknown_attention_module_is_refused():
    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn = torch.nn.Identity()

    class Model:
        encoder = type("E", (), {"layers": [Layer()]})()

    with pytest.raises(TypeError, match="unknown encoder self-attention"):
        am.attention_modules(Model())
