"""Per-layer options of the plain ``lite_transformer`` (what a searched SubTransformer is trained with): FFN sizes,
branch layouts and encoder-decoder attention heads per layer, and HAT's arbitrary encoder-decoder attention. Each
option is checked by name before any weight is built; without them every preset is unchanged."""

import argparse

import pytest
import torch

from lite_fairseq.models.branch_options import BranchSpecError

from model_helpers import build_model, incremental_logprobs, make_dictionary, random_tokens

TINY = "lite_transformer_tiny"  # d=128, 3+3 layers


def test_per_layer_options_build_the_layers_they_name():
    model = build_model(TINY, [
        "--encoder-ffn-embed-dim-list", "64", "128", "256",
        "--encoder-layer-branches", "attn:1:32:2+dynamic:default:96:4", "dynamic:7:128:4", "attn:1:128:4",
        "--decoder-attention-heads-list", "2", "4", "8", "--decoder-ende-attn-layers", "1", "2", "3"])
    assert [layer.ffn.fc1.out_features for layer in model.encoder.layers] == [64, 128, 256]
    assert [[str(s) for s in layer.self_attn.specs] for layer in model.encoder.layers] == [
        ["attn:1:32:2", "dynamic:default:96:4"], ["dynamic:7:128:4"], ["attn:1:128:4"]]
    assert model.encoder.layers[0].self_attn.branches[1].conv.kernel_size == 3  # 'default': the kernel size list
    assert [layer.encoder_attn.num_heads for layer in model.decoder.layers] == [2, 4, 8]
    assert model.encoder.extra_layer_outputs == 2


def test_arbitrary_encoder_decoder_attention_reads_the_last_encoder_layers():
    d = make_dictionary()
    model = build_model(TINY, ["--decoder-ende-attn-layers", "1", "2", "3"], dictionary=d).eval()
    g = torch.Generator().manual_seed(0)
    src = random_tokens(d, 2, 6, g)
    src[0, :2] = d.pad()
    prev = random_tokens(d, 2, 5, g)
    with torch.no_grad():
        encoder_out = model.encoder(src)
        assert len(encoder_out["encoder_layer_outputs"]) == 2
        seen = {}
        for i, layer in enumerate(model.decoder.layers):
            def keep(module, args, kwargs, i=i):
                seen[i] = (kwargs["key"].size(0), kwargs["key_padding_mask"])
            layer.encoder_attn.register_forward_pre_hook(keep, with_kwargs=True)
        model.decoder(prev, encoder_out=encoder_out)
    assert [seen[i][0] for i in range(3)] == [6, 12, 18]  # the source positions of 1, 2 and 3 layers
    assert seen[2][1].shape == (2, 18) and seen[2][1][0, :2].all() and seen[2][1][0, 6:8].all()


def test_incremental_decoding_and_beam_reordering_with_arbitrary_encoder_decoder_attention():
    d = make_dictionary()
    model = build_model(TINY, ["--decoder-ende-attn-layers", "3", "2", "1",
                               "--decoder-layer-branches", "dynamic:default:128:4", "attn:1:128:4",
                               "attn:1:64:4+lightweight:5:64:2"], dictionary=d).eval()
    g = torch.Generator().manual_seed(1)
    src = random_tokens(d, 2, 7, g).repeat_interleave(2, dim=0)
    src[2:, :3] = d.pad()
    prev = random_tokens(d, 4, 9, g)
    new_order = torch.tensor([1, 1, 3, 2])  # hypotheses duplicated and swapped within each sentence
    with torch.no_grad():
        full = model.get_normalized_probs(model(src, None, prev), log_probs=True)
        torch.testing.assert_close(incremental_logprobs(model, src, prev), full, atol=1e-5, rtol=0)
        step = incremental_logprobs(model, src, prev, reorder_at=4, new_order=new_order)
        full = model(src.index_select(0, new_order), None, prev.index_select(0, new_order))
        full = model.get_normalized_probs(full, log_probs=True)
        torch.testing.assert_close(step[:, 4:], full[:, 4:], atol=1e-5, rtol=0)
        outputs = model.encoder(src)["encoder_layer_outputs"]
        reordered = model.encoder.reorder_encoder_out(model.encoder(src), new_order)["encoder_layer_outputs"]
        assert torch.equal(reordered[1], outputs[1].index_select(1, new_order))


def test_presets_are_unchanged_without_the_per_layer_options():
    d = make_dictionary()
    plain = build_model(TINY, [], dictionary=d, seed=3)
    spelled = build_model(TINY, ["--encoder-ffn-embed-dim-list", "128", "--decoder-attention-heads-list", "4",
                                 "--decoder-ende-attn-layers", "1", "--decoder-layer-branches",
                                 "attn:1:64:4+dynamic:default:64:4"], dictionary=d, seed=3)
    a, b = plain.state_dict(), spelled.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain.encoder.extra_layer_outputs == 0
    assert plain.encoder(random_tokens(d, 1, 4))["encoder_layer_outputs"] == []


@pytest.mark.parametrize("options,error,message", [
    (["--encoder-ffn-embed-dim-list", "64", "128"], BranchSpecError,
     "--encoder-ffn-embed-dim-list: 2 values .* for 3 layers"),
    (["--decoder-ffn-embed-dim-list", "0"], argparse.ArgumentError, "decoder-ffn-embed-dim-list.*positive"),
    (["--encoder-layer-branches", "attn:1:64:4+dynamic:default:32:4"], BranchSpecError,
     r"--encoder-layer-branches \(layer 0\): branch widths 64 \+ 32 = 96 do not add up .* 128"),
    (["--encoder-layer-branches", "attn:1:128:4", "attn:1:128:4"], BranchSpecError,
     "--encoder-layer-branches: 2 layers' branches given for 3 layers"),
    (["--decoder-layer-branches", "attn:1:128:4++dynamic:default:0:4"], argparse.ArgumentError,
     "decoder-layer-branches.*empty branch"),
    (["--decoder-layer-branches", "attn:1:128:3"], argparse.ArgumentError, "3 heads do not divide"),
    (["--encoder-layer-branches", "attn:1:128:4", "--encoder-branch-type", "attn:1:128:4"], BranchSpecError,
     "--encoder-layer-branches and --encoder-branch-type both set"),
    (["--decoder-attention-heads-list", "4", "3", "4"], BranchSpecError,
     r"--decoder-attention-heads-list: 3 heads do not divide --decoder-embed-dim 128 \(decoder layer 1\)"),
    (["--decoder-ende-attn-layers", "1", "4", "1"], BranchSpecError,
     "--decoder-ende-attn-layers: decoder layer 1 reads 4 encoder layers, but the encoder has 3"),
    (["--decoder-ende-attn-layers", "two"], argparse.ArgumentError, "decoder-ende-attn-layers.*positive integers"),
])
def test_per_layer_options_are_checked_by_name(options, error, message):
    with pytest.raises(error, match=message):
        build_model(TINY, options)


def test_the_exporter_reads_per_layer_heads_and_refuses_multi_layer_encoder_decoder_attention():
    from lite_fairseq.deploy.adapter import read_model
    from lite_fairseq.deploy.spec import UnsupportedModelError
    from lite_fairseq.models.standalone import build

    built = build(TINY, ["--decoder-attention-heads-list", "2", "4", "8"], src_vocab=30)
    spec = read_model(built.model.eval(), built.args)
    assert [layer.cross.heads for layer in spec.decoder.layers] == [2, 4, 8]
    built = build(TINY, ["--decoder-ende-attn-layers", "1", "2", "1"], src_vocab=30)
    with pytest.raises(UnsupportedModelError, match="--decoder-ende-attn-layers above 1"):
        read_model(built.model.eval(), built.args)
