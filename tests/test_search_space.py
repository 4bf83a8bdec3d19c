"""The design space of the hardware-aware search: every sampled, mutated or crossed-over SubTransformer is valid and
seeded draws repeat; configs and spaces round-trip through files, and malformed ones are refused naming the field."""

import json
import random

import pytest

from lite_fairseq.search.space import SearchSpace, SearchSpaceError, SubConfig, lite_transformer_args

from model_helpers import build_model, make_dictionary
from search_helpers import tiny_space


@pytest.mark.parametrize("space", [SearchSpace.default(), tiny_space()], ids=["default", "tiny"])
def test_every_sampled_mutated_and_crossed_config_is_valid(space):
    rng = random.Random(0)
    for _ in range(300):
        a, b = space.sample(rng), space.sample(rng)
        for cfg in (a, space.mutate(a, 0.5, rng), space.crossover(a, b, rng)):
            space.check_contains(cfg)
            assert len(space.encode(cfg)) == space.encoding_length()
            assert all(0.0 <= x <= 1.0 for x in space.encode(cfg))
            for side in ("encoder", "decoder"):
                d = getattr(cfg, f"{side}_embed_dim")
                for a_dim, heads in zip(getattr(cfg, f"{side}_attn_dims"), getattr(cfg, f"{side}_attn_heads")):
                    assert a_dim == 0 or a_dim % heads == 0
                for a_dim, heads in zip(getattr(cfg, f"{side}_attn_dims"), getattr(cfg, f"{side}_conv_heads")):
                    assert d - a_dim == 0 or (d - a_dim) % heads == 0
            assert max(cfg.decoder_ende_layers) <= cfg.encoder_layers


def test_sampling_covers_all_attention_all_convolution_and_every_ende_choice():
    space = SearchSpace.default()
    rng = random.Random(1)
    configs = [space.sample(rng) for _ in range(200)]
    widths = {a / c.encoder_embed_dim for c in configs for a in c.encoder_attn_dims}
    assert {0.0, 1.0} <= widths
    assert {n for c in configs for n in c.decoder_ende_layers} == {1, 2, 3}
    assert {c.decoder_layers for c in configs} == set(space.decoder_layers)


def test_seeded_draws_mutations_and_crossovers_repeat():
    space = SearchSpace.default()

    def run(seed):
        rng = random.Random(seed)
        a, b = space.sample(rng), space.sample(rng)
        return a, space.mutate(a, 0.3, rng), space.crossover(a, b, rng)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_mutation_probability_zero_keeps_the_config_and_one_changes_it():
    space = SearchSpace.default()
    rng = random.Random(2)
    cfg = space.sample(rng)
    assert space.mutate(cfg, 0.0, rng) == cfg
    assert any(space.mutate(cfg, 1.0, rng) != cfg for _ in range(5))


def test_crossover_takes_every_gene_from_a_parent():
    space = SearchSpace.default()
    rng = random.Random(3)
    a, b = space.sample(rng), space.sample(rng)
    child = space.crossover(a, b, rng)
    assert child.encoder_embed_dim in (a.encoder_embed_dim, b.encoder_embed_dim)
    assert child.decoder_layers in (a.decoder_layers, b.decoder_layers)
    assert space.crossover(a, a, rng) == a


def test_largest_and_smallest_bound_the_space():
    space = SearchSpace.default()
    big, small = space.largest(), space.smallest()
    assert space.contains(big) and space.contains(small)
    assert big.encoder_embed_dim == 256 and big.decoder_layers == 3 and max(big.decoder_ende_layers) == 3
    assert small.encoder_embed_dim == 128 and small.decoder_layers == 1


def test_subconfig_round_trips_through_json(tmp_path):
    cfg = SearchSpace.default().sample(random.Random(4))
    assert SubConfig.from_json(cfg.to_json()) == cfg
    path = tmp_path / "sub.json"
    path.write_text(cfg.to_json())
    assert SubConfig.from_file(path) == cfg


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("decoder_ende_layers"), "missing field.*decoder_ende_layers"),
    (lambda d: d.update(encoder_layerz=3), "unknown field.*encoder_layerz"),
    (lambda d: d.update(encoder_ffn_dims=d["encoder_ffn_dims"][:-1]), "encoder_ffn_dims: .* entries for"),
    (lambda d: d.update(encoder_attn_heads=[3] * len(d["encoder_attn_heads"])), "encoder_attn_heads"),
    (lambda d: d.update(decoder_ende_layers=[9] * len(d["decoder_ende_layers"])), "decoder_ende_layers"),
    (lambda d: d.update(encoder_embed_dim="big"), "encoder_embed_dim: expected integers"),
])
def test_malformed_subconfig_is_refused_naming_the_field(change, message):
    d = SearchSpace.default().largest().to_dict()
    change(d)
    with pytest.raises(SearchSpaceError, match=message):
        SubConfig.from_dict(d)


def test_default_space_round_trips_through_a_file(tmp_path):
    space = SearchSpace.default()
    space.to_file(tmp_path / "space.json")
    assert SearchSpace.from_file(tmp_path / "space.json") == space
    (tmp_path / "space.yaml").write_text("decoder_layers: [1, 2]\nconv_type: lightweight\nglu: false\n")
    small = SearchSpace.from_file(tmp_path / "space.yaml")
    assert small.decoder_layers == (1, 2) and small.conv_type == "lightweight" and small.encoder_layers == (3, 4)


@pytest.mark.parametrize("text,message", [
    ("{not json", "cannot be parsed"),
    ('["a list"]', "must be a mapping of fields"),
    ('{"embed_dims": [128]}', "unknown field.*embed_dims"),
    ('{"encoder_embed_dims": []}', "'encoder_embed_dims': expected a non-empty list"),
    ('{"encoder_embed_dims": [128, "256"]}', "'encoder_embed_dims': expected integers"),
    ('{"attn_fractions": [0.5, 1.5]}', "'attn_fractions': expected .* between 0 and 1"),
    ('{"attn_fractions": [0.3]}', "'attn_fractions': 0.3 of encoder_embed_dims 128 is not a whole number"),
    ('{"attn_heads": [3]}', "'attn_heads': \\[3\\] heads do not divide"),
    ('{"ende_heads": [5]}', "'ende_heads': 5 heads do not divide"),
    ('{"conv_type": "separable"}', "'conv_type': 'separable' is not one of"),
    ('{"glu": "yes"}', "'glu': expected true or false"),
    ('{"encoder_layers": [2], "ende_layers": [1, 3]}', "'ende_layers': 3 is more than"),
])
def test_malformed_space_file_is_refused_naming_the_field(tmp_path, text, message):
    path = tmp_path / "space.json"
    path.write_text(text)
    with pytest.raises(SearchSpaceError, match=message) as err:
        SearchSpace.from_file(path)
    assert str(path) in str(err.value)


def test_missing_space_file_is_reported():
    with pytest.raises(SearchSpaceError, match="cannot read the search space file"):
        SearchSpace.from_file("no/such/space.json")


def test_lite_transformer_args_build_the_same_architecture():
    space = tiny_space()
    d = make_dictionary()
    cfg = space.sample(random.Random(7))
    args = lite_transformer_args(cfg, space)
    assert args[:2] == ["--arch", "lite_transformer"]
    model = build_model("lite_transformer", args[2:], dictionary=d)
    assert len(model.encoder.layers) == cfg.encoder_layers and len(model.decoder.layers) == cfg.decoder_layers
    for i, layer in enumerate(model.encoder.layers):
        assert layer.ffn.fc1.out_features == cfg.encoder_ffn_dims[i]
        widths = [spec.dim for spec in layer.self_attn.specs if spec.is_attention]
        assert sum(widths) == cfg.encoder_attn_dims[i]
    for i, layer in enumerate(model.decoder.layers):
        assert layer.encoder_attn.num_heads == cfg.decoder_ende_heads[i]
    assert model.decoder.ende_layers == cfg.decoder_ende_layers
    assert json.loads(cfg.to_json())["decoder_ende_layers"] == list(cfg.decoder_ende_layers)
