"""Bad model options fail early, before any weight is built, with a message that names the option."""

import argparse

import pytest

from lite_fairseq.models.branch_options import (BranchSpecError, parse_branch_spec, parse_kernel_size_list,
                                                split_list_argument)
from model_helpers import build_model, parse_model_args


@pytest.mark.parametrize("spec", ["attn:1:64", "conv:3:64:4", "dynamic:x:64:4", "attn:1:sixty:4", "attn:1:64:0",
                                  "dynamic:default:-64:4"])
def test_malformed_branch_spec_is_rejected_at_parse_time(spec):
    with pytest.raises(argparse.ArgumentError, match="branch-type"):
        parse_model_args("lite_transformer_tiny", ["--encoder-branch-type", spec, "dynamic:default:64:4"])


def test_branch_widths_must_add_up_to_the_embedding_dimension():
    with pytest.raises(BranchSpecError, match=r"--decoder-branch-type: branch widths 64 \+ 32 = 96 do not add up "
                                              r"to the embedding dimension 128"):
        build_model("lite_transformer_tiny", ["--decoder-branch-type", "attn:1:64:4", "dynamic:default:32:4"])


def test_heads_must_divide_the_branch_width():
    with pytest.raises(argparse.ArgumentError, match="3 heads do not divide the branch width 64"):
        parse_model_args("lite_transformer_tiny", ["--encoder-branch-type", "attn:1:64:3", "dynamic:default:64:4"])
    with pytest.raises(BranchSpecError, match="--encoder-conv-branch-heads: 5 heads do not divide"):
        build_model("lite_transformer_tiny", ["--encoder-conv-branch-heads", "5"])
    with pytest.raises(BranchSpecError, match="--decoder-attn-branch-heads: 7 heads"):
        build_model("lite_transformer_tiny", ["--decoder-attn-branch-heads", "7"])
    with pytest.raises(ValueError, match="--decoder-attention-heads: 5 heads do not divide --decoder-embed-dim"):
        build_model("lite_transformer_tiny", ["--decoder-attention-heads", "5"])


def test_kernel_size_list_must_match_the_layers():
    with pytest.raises(BranchSpecError, match=r"--encoder-kernel-size-list: 2 kernel sizes \[3, 7\] given for 3 "
                                              r"layers"):
        build_model("lite_transformer_tiny", ["--encoder-kernel-size-list", "3", "7"])
    with pytest.raises(BranchSpecError, match="--decoder-kernel-size-list: 4 kernel sizes"):
        build_model("lite_transformer_tiny", ["--decoder-kernel-size-list", "[3,7,15,31]"])
    with pytest.raises(argparse.ArgumentError, match="kernel sizes must be positive integers"):
        parse_model_args("lite_transformer_tiny", ["--encoder-kernel-size-list", "3", "zero", "7"])


def test_attention_branch_width_must_fit():
    with pytest.raises(BranchSpecError, match="--encoder-attn-branch-dim: 200 must lie between 0 and"):
        build_model("lite_transformer_tiny", ["--encoder-attn-branch-dim", "200"])


def test_boolean_options_take_explicit_values():
    args = parse_model_args("lite_transformer_wmt_200", ["--share-all-embeddings", "false", "--encoder-glu", "0"])
    assert args.share_all_embeddings is False and args.encoder_glu is False
    assert parse_model_args("lite_transformer_tiny", ["--encoder-normalize-before"]).encoder_normalize_before
    with pytest.raises(argparse.ArgumentError, match="expected a boolean"):
        parse_model_args("lite_transformer_tiny", ["--encoder-glu", "maybe"])


def test_list_arguments_accept_the_authors_yaml_forms():
    assert split_list_argument(["[attn:1:80:4,", "lightweight:default:80:4]"]) == ["attn:1:80:4",
                                                                                  "lightweight:default:80:4"]
    assert parse_kernel_size_list(["[3,7,15]"], 3, "--x") == [3, 7, 15]
    assert parse_kernel_size_list(["31"], 4, "--x") == [31] * 4
    assert str(parse_branch_spec("dynamic:7:248:4")) == "dynamic:7:248:4"


def test_every_option_has_help_text():
    from lite_fairseq.models.lite_transformer import LiteTransformerModel

    parser = argparse.ArgumentParser()
    LiteTransformerModel.add_args(parser)
    missing = [a.option_strings for a in parser._actions if a.option_strings and a.dest != "help" and not a.help]
    assert not missing
