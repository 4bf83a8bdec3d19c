"""The weight-shared SuperTransformer (``--arch lite_supertransformer``): a SubTransformer extracted as a plain
``lite_transformer`` computes exactly what it computed inside the SuperTransformer; weights are shared by leading
slices; the per-update draw is the same on every rank."""

import dataclasses
import json
import random

import pytest
import torch
from omegaconf import OmegaConf

from lite_fairseq.models import LiteTransformerModel
from lite_fairseq.models.standalone import StandaloneTask
from lite_fairseq.search.extract import ExtractError, extract_state, extract_subtransformer
from lite_fairseq.search.slicing import sub_state_dict, tap_offset
from lite_fairseq.search.space import SearchSpaceError, SubConfig

from search_helpers import build_super, incremental, sample_batch, super_checkpoint_state, tiny_space


def _uniform_layers(sub: SubConfig, fraction: float) -> SubConfig:
    """``sub`` with every layer all attention (fraction 1) or all convolution (fraction 0)."""
    changes = {}
    for side in ("encoder", "decoder"):
        n, d = getattr(sub, f"{side}_layers"), getattr(sub, f"{side}_embed_dim")
        attn = fraction == 1
        changes.update({f"{side}_attn_dims": (d if attn else 0,) * n, f"{side}_attn_heads": (2 if attn else 0,) * n,
                        f"{side}_conv_heads": (0 if attn else 4,) * n, f"{side}_kernel_sizes": (0 if attn else 3,) * n})
    return dataclasses.replace(sub, **changes)


def _configs(space):
    rng = random.Random(11)
    sampled = [space.sample(rng) for _ in range(3)]
    deep = next(c for c in (space.sample(rng) for _ in range(1000)) if (c.encoder_layers, c.decoder_layers) == (3, 3))
    deep = dataclasses.replace(deep, decoder_ende_layers=(1, 2, 3))
    return sampled + [deep, _uniform_layers(deep, 1), _uniform_layers(sampled[0], 0), space.largest(),
                      space.smallest()]


def _extracted(model, sub, dictionary):
    """The SubTransformer as a plain lite_transformer, built from the extracted checkpoint's own config."""
    state = extract_state(super_checkpoint_state(model), sub)
    plain = LiteTransformerModel.build_model(OmegaConf.create(state["cfg"]["model"]), StandaloneTask(dictionary))
    plain.load_state_dict(state["model"], strict=True)
    return plain.eval()


@pytest.mark.parametrize("conv_type,glu", [("dynamic", True), ("lightweight", False)])
def test_extracted_subtransformer_computes_what_it_computed_inside_the_supertransformer(tmp_path, conv_type, glu):
    space = tiny_space(conv_type=conv_type, glu=glu)
    model, d = build_super(tmp_path, space)
    model.eval()
    src, lengths, prev = sample_batch(d, tgt_len=8)
    configs = _configs(space)
    assert {n for c in configs for n in c.decoder_ende_layers} == {1, 2, 3}
    assert any(set(c.encoder_attn_dims) == {c.encoder_embed_dim} for c in configs)  # all attention
    assert any(set(c.encoder_attn_dims) == {0} for c in configs)  # all convolution
    for sub in configs:
        assert space.contains(sub), sub
        model.set_sample_config(sub)
        plain = _extracted(model, sub, d)
        with torch.no_grad():
            inside = model.get_normalized_probs(model(src, lengths, prev), log_probs=True)
            alone = plain.get_normalized_probs(plain(src, lengths, prev), log_probs=True)
            torch.testing.assert_close(alone, inside, atol=1e-6, rtol=0)
            inside_steps = incremental(model, src, lengths, prev)
            alone_steps = incremental(plain, src, lengths, prev)
        torch.testing.assert_close(alone_steps, inside_steps, atol=1e-6, rtol=0)
        torch.testing.assert_close(inside_steps, inside, atol=1e-5, rtol=0)


def test_subtransformer_weights_are_leading_slices_of_the_shared_weights(tmp_path):
    space = tiny_space()
    model, _ = build_super(tmp_path, space)
    sub = dataclasses.replace(space.smallest(), encoder_attn_dims=(16, 16), encoder_kernel_sizes=(3, 4))
    params = dict(model.named_parameters())
    sliced = sub_state_dict(params, sub, space)
    q = sliced["encoder.layers.0.self_attn.branches.0.q_proj.weight"]
    assert q.shape == (16, 16)
    assert q.data_ptr() == params["encoder.layers.0.attn.q_proj.weight"].data_ptr()  # a view, no copy
    assert sliced["encoder.embed_tokens.weight"].shape == (model.encoder.embed_tokens.weight.size(0), 32)
    assert sliced["encoder.layers.0.ffn.fc1.weight"].shape == (32, 32)
    assert sliced["decoder.layers.0.encoder_attn.k_proj.weight"].shape == (32, 32)
    # conv branch of 16 channels with 2 heads and 3 taps (GLU: both halves of the input projection)
    conv = "encoder.layers.0.self_attn.branches.1"
    assert sliced[f"{conv}.linear1.weight"].shape == (32, 16)
    assert sliced[f"{conv}.conv.weight_linear.weight"].shape == (2 * 3, 16)
    assert sliced[f"{conv}.linear2.weight"].shape == (16, 16)
    assert "encoder.layers.2.ffn.fc1.weight" not in sliced  # the first layers only
    # a kernel keeps the taps at the same positions relative to the current token
    assert tap_offset(7, 3, causal=False) == 2 and tap_offset(7, 4, causal=False) == 2
    assert tap_offset(5, 3, causal=True) == 2 and tap_offset(5, 5, causal=True) == 0


def test_training_draws_one_subtransformer_per_update_from_seed_and_update_alone(tmp_path):
    space = tiny_space()
    a, _ = build_super(tmp_path, space, seed=0)
    b, _ = build_super(tmp_path, space, seed=1)  # another process (rank): built apart, same --seed option
    draws = [a.sample_config(u) for u in range(20)]
    assert draws == [b.sample_config(u) for u in range(20)]
    assert len(set(draws)) > 10  # a new SubTransformer almost every update
    assert all(space.contains(c) for c in draws)
    b.seed = a.seed + 1
    assert [b.sample_config(u) for u in range(20)] != draws


def test_training_forward_runs_the_drawn_subtransformer_and_updates_only_its_weights(tmp_path):
    space = tiny_space()
    model, d = build_super(tmp_path, space)
    model.train()
    model.set_num_updates(4)
    src, lengths, prev = sample_batch(d)
    out, _ = model(src, lengths, prev)
    sub = model.sample_config(4)
    assert model.active_config == sub and out.shape == (3, prev.size(1), len(d))
    out.sum().backward()
    assert model.decoder.embed_tokens.weight.grad is not None
    assert model.encoder.layers[0].ffn.fc1.weight.grad is not None
    for i in range(sub.encoder_layers, max(space.encoder_layers)):  # layers it does not have get no gradient
        assert model.encoder.layers[i].ffn.fc1.weight.grad is None
    model.eval()  # validation runs the fixed SubTransformer again
    assert model.active_config == space.largest()


def test_subtransformers_outside_the_space_are_refused(tmp_path):
    space = tiny_space()
    model, _ = build_super(tmp_path, space)
    bad = dataclasses.replace(space.smallest(), encoder_ffn_dims=(48, 32))
    with pytest.raises(SearchSpaceError, match="encoder_ffn_dims: 48 is not in the space"):
        model.set_sample_config(bad)
    with pytest.raises(ExtractError, match="does not belong to the SuperTransformer's space"):
        extract_state(super_checkpoint_state(model), bad)


def test_extraction_writes_a_checkpoint_the_allow_listed_loader_reads(tmp_path):
    from lite_fairseq.checkpoint_safety import load_checkpoint

    space = tiny_space()
    model, d = build_super(tmp_path, space)
    torch.save(super_checkpoint_state(model), tmp_path / "super.pt")
    sub = space.sample(random.Random(2))
    (tmp_path / "sub.json").write_text(sub.to_json())
    extract_subtransformer(tmp_path / "super.pt", tmp_path / "sub.json", tmp_path / "out" / "sub.pt")
    state = load_checkpoint(tmp_path / "out" / "sub.pt")  # weights_only stays on
    assert state["cfg"]["model"]["_name"] == "lite_transformer"
    assert state["extra_state"]["extracted_from"]["subtransformer"] == sub.to_dict()
    assert "search_space" not in state["model"]


def test_a_plain_checkpoint_is_not_extracted_from(tmp_path):
    import argparse

    with pytest.raises(ExtractError, match="not of a lite_supertransformer"):
        extract_state({"cfg": {"model": argparse.Namespace(_name="lite_transformer")}, "model": {}},
                      tiny_space().smallest())
    with pytest.raises(ExtractError, match="not a fairseq checkpoint"):
        extract_state({"weights": 1}, tiny_space().smallest())


def test_a_malformed_space_file_stops_the_model_build_naming_the_field(tmp_path):
    from model_helpers import build_model

    path = tmp_path / "space.json"
    path.write_text('{"attn_heads": [3]}')
    with pytest.raises(SearchSpaceError, match="--search-space: .*'attn_heads'"):
        build_model("lite_supertransformer", ["--search-space", str(path)])


def test_extract_subcommand_writes_the_checkpoint_and_names_a_bad_config(tmp_path, capsys):
    import argparse

    from lite_fairseq.search.extract import register

    space = tiny_space()
    model, _ = build_super(tmp_path, space)
    torch.save(super_checkpoint_state(model), tmp_path / "super.pt")
    parser = argparse.ArgumentParser(prog="lite-fairseq-search")
    register(parser.add_subparsers(dest="command", required=True))
    (tmp_path / "sub.json").write_text(space.smallest().to_json())
    opts = parser.parse_args(["extract", "--super", str(tmp_path / "super.pt"), "--config",
                              str(tmp_path / "sub.json"), "--out", str(tmp_path / "sub.pt")])
    assert opts.func(opts) == 0 and (tmp_path / "sub.pt").is_file()
    assert "plain lite_transformer checkpoint" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text('{"encoder_embed_dim": 32}')
    opts = parser.parse_args(["extract", "--super", str(tmp_path / "super.pt"), "--config",
                              str(tmp_path / "bad.json"), "--out", str(tmp_path / "bad.pt")])
    with pytest.raises(SearchSpaceError, match="bad.json: SubConfig: missing field"):
        opts.func(opts)


def test_validation_subtransformer_option_takes_a_config_file_and_names_a_bad_one(tmp_path):
    space = tiny_space()
    sub = space.sample(random.Random(8))
    (tmp_path / "valid.json").write_text(sub.to_json())
    model, _ = build_super(tmp_path, space, extra=["--valid-subtransformer", str(tmp_path / "valid.json")])
    assert model.eval().active_config == sub
    model, _ = build_super(tmp_path, space, extra=["--valid-subtransformer", "smallest"])
    assert model.eval().active_config == space.smallest()
    outside = dataclasses.replace(sub, encoder_ffn_dims=(48,) * sub.encoder_layers)
    (tmp_path / "outside.json").write_text(json.dumps(outside.to_dict()))
    with pytest.raises(SearchSpaceError, match="--valid-subtransformer: SubConfig.encoder_ffn_dims: 48 is not in"):
        build_super(tmp_path, space, extra=["--valid-subtransformer", str(tmp_path / "outside.json")])
