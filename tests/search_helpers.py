"""A small search space and SuperTransformer for the search tests (CPU, a second or so to build)."""

import argparse

import torch

from lite_fairseq.search.space import SearchSpace

from model_helpers import build_model, make_dictionary, random_tokens


def tiny_space(**changes) -> SearchSpace:
    fields = dict(encoder_embed_dims=[32, 48, 64], decoder_embed_dims=[32, 48, 64], encoder_layers=[2, 3],
                  decoder_layers=[1, 2, 3], encoder_ffn_dims=[32, 64], decoder_ffn_dims=[32, 64],
                  attn_fractions=[0, 0.25, 0.5, 0.75, 1], attn_heads=[2, 4], conv_heads=[2, 4], ende_heads=[2, 4],
                  encoder_kernel_sizes=[3, 4, 7], decoder_kernel_sizes=[3, 5], ende_layers=[1, 2, 3])
    fields.update(changes)
    return SearchSpace.from_dict(fields)


def build_super(tmp_path, space: SearchSpace, dictionary=None, extra=(), seed=0):
    path = tmp_path / "space.json"
    space.to_file(path)
    dictionary = dictionary if dictionary is not None else make_dictionary()
    model = build_model("lite_supertransformer", ["--search-space", str(path), *extra], dictionary=dictionary,
                        seed=seed)
    return model, dictionary


def super_checkpoint_state(model) -> dict:
    """What fairseq-train saves, as far as extraction reads it: cfg['model'] (a Namespace for this model) and the
    weights."""
    args = argparse.Namespace(**vars(model.args))
    args._name = "lite_supertransformer"
    return {"cfg": {"model": args}, "model": model.state_dict()}


def sample_batch(dictionary, seed=3, src_len=9, tgt_len=7):
    """Three sentences, the first one left-padded (padding reaches every mask)."""
    g = torch.Generator().manual_seed(seed)
    src = random_tokens(dictionary, 3, src_len, g)
    src[0, :3] = dictionary.pad()
    lengths = torch.tensor([src_len - 3, src_len, src_len])
    prev = random_tokens(dictionary, 3, tgt_len, g)
    return src, lengths, prev


def incremental(model, src, lengths, prev):
    """Decode ``prev`` one token at a time as fairseq's generator does; log-probabilities of every step."""
    encoder_out = model.encoder(src, src_lengths=lengths)
    state = {}
    steps = []
    for t in range(prev.size(1)):
        out, _ = model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
        steps.append(model.get_normalized_probs((out, None), log_probs=True))
    return torch.cat(steps, dim=1)
