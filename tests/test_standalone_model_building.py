"""lite_fairseq.models.standalone: models built without data, with options parsed as fairseq-train parses them
and clear errors for an unknown architecture, option or vocabulary."""

import argparse

import pytest
from fairseq import options

from lite_fairseq.models.standalone import (ModelOptionError, StandaloneTask, build, build_model, parse_model_args,
                                            placeholder_dictionary)


@pytest.mark.parametrize("arch,overrides", [
    ("lite_transformer_tiny", ["--encoder-layers", "2", "--encoder-kernel-size-list", "3", "7", "--dropout", "0.2"]),
    ("transformer_paper_wmt_128", ["--share-all-embeddings"]),
])
def test_options_are_parsed_as_fairseq_train_parses_them(arch, overrides):
    ours = parse_model_args(arch, overrides)
    theirs = options.parse_args_and_arch(options.get_training_parser(),
                                         input_args=["data-bin", "--arch", arch] + overrides)
    assert {k: getattr(theirs, k) for k in vars(ours)} == vars(ours)


def test_placeholder_dictionary_has_exactly_the_asked_size():
    d = placeholder_dictionary(30)
    assert len(d) == 30 and d.nspecial == 4
    with pytest.raises(ModelOptionError, match="vocabulary size 4: a dictionary needs more than fairseq's 4 special"):
        placeholder_dictionary(4)


def test_built_model_uses_the_vocabularies_and_shares_one_joined_dictionary():
    built = build("lite_transformer_tiny", src_vocab=40, seed=0)
    assert built.src_dict is built.tgt_dict and len(built.tgt_dict) == 40
    assert built.model.encoder.embed_tokens.num_embeddings == 40
    model = build_model("lite_transformer_tiny", task=StandaloneTask(placeholder_dictionary(30),
                                                                      placeholder_dictionary(50)))
    assert model.decoder.embed_tokens.num_embeddings == 50
    lm = build("lite_transformer_lm_tiny", tgt_vocab=60)
    assert lm.task == "language_modeling" and lm.src_dict is None and len(lm.tgt_dict) == 60


@pytest.mark.parametrize("call,message", [
    (lambda: build_model("lite_transformer_wmt_2000"), "--arch: unknown architecture 'lite_transformer_wmt_2000'; "
                                                        "did you mean"),
    (lambda: build_model("lite_transformer_tiny", ["--no-such-option", "3"]), r"unknown option\(s\) --no-such-option"),
    (lambda: build_model("lite_transformer_tiny", ["stray"]), r"unexpected value\(s\) stray"),
    (lambda: build_model("lite_transformer_lm_tiny", src_vocab=50), "src_vocab: --arch lite_transformer_lm_tiny is "
                                                                    "a decoder-only language model"),
    (lambda: build_model("lite_transformer_wmt_200", src_vocab=100, tgt_vocab=90), "one joined dictionary"),
    (lambda: build_model("lite_transformer_tiny", src_vocab=100, task=StandaloneTask(placeholder_dictionary(9))),
     "either a task with dictionaries or vocabulary sizes"),
])
def test_bad_input_names_what_is_wrong(call, message):
    with pytest.raises(ModelOptionError, match=message):
        call()


def test_malformed_value_is_the_parsers_own_error():
    with pytest.raises(argparse.ArgumentError, match="--encoder-embed-dim: invalid int value"):
        parse_model_args("lite_transformer_tiny", ["--encoder-embed-dim", "abc"])
