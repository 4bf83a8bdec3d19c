"""Existing checkpoints keep loading: the parameter names and shapes of the small presets match the list recorded
from the code that wrote them (tests/data/state_dict_layouts.json, generated before the layers were reorganised).

The authors-checkpoint converter and the compressed-checkpoint format address weights by these names too. If a
change here is intended, it needs an ``upgrade_state_dict_named`` step for old checkpoints before the list is
regenerated.
"""

import json

import pytest
import torch

from helpers import TESTS
from model_helpers import build_model, make_dictionary

LAYOUTS = json.loads((TESTS / "data" / "state_dict_layouts.json").read_text())

CASES = {
    "lite_transformer_tiny": ("lite_transformer_tiny", []),
    # lightweight and dynamic branches, a fixed and a per-layer kernel, GLU off on one side
    "lite_transformer_tiny_mixed_branches": ("lite_transformer_tiny", [
        "--encoder-conv-type", "lightweight", "--encoder-glu", "False",
        "--decoder-branch-type", "attn:1:64:4", "lightweight:7:32:4", "dynamic:default:32:2"]),
    "lite_transformer_lm_tiny": ("lite_transformer_lm_tiny", []),
}


def test_every_recorded_layout_is_checked():
    assert set(CASES) == set(LAYOUTS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_names_and_shapes_match_existing_checkpoints(name):
    arch, cli_args = CASES[name]
    torch.set_num_threads(1)
    model = build_model(arch, cli_args, dictionary=make_dictionary(96))
    actual = {key: list(value.shape) for key, value in model.state_dict().items()}
    expected = LAYOUTS[name]
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"
    wrong = {key: (actual[key], expected[key]) for key in expected if actual[key] != expected[key]}
    assert not wrong, f"shapes differ (actual, recorded): {wrong}"
