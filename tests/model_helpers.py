"""Helpers for building registered models the way fairseq's command line does, without a data directory: thin
wrappers over :mod:`lite_fairseq.models.standalone` in the shape the tests use."""

import torch

from lite_fairseq.models import standalone
from lite_fairseq.models.standalone import StandaloneTask, parse_model_args  # noqa: F401  (re-exported)

FakeTask = StandaloneTask  # FakeTask(dictionary) or FakeTask(src_dict, tgt_dict)
NSPECIAL = 4  # fairseq's special symbols: <s>, <pad>, </s>, <unk>


def make_dictionary(size: int = 24):
    """``size`` ordinary symbols ``w0`` ... plus fairseq's specials."""
    return standalone.placeholder_dictionary(size + NSPECIAL)


def build_model(arch: str, cli_args=(), dictionary=None, seed: int = 0):
    """``arch`` built with ``cli_args`` over one joined ``dictionary`` (default :func:`make_dictionary`)."""
    dictionary = dictionary if dictionary is not None else make_dictionary()
    return standalone.build_model(arch, cli_args, task=StandaloneTask(dictionary), seed=seed)


def random_tokens(dictionary, batch: int, length: int, generator=None):
    low = dictionary.nspecial
    return torch.randint(low, len(dictionary), (batch, length), generator=generator)


def forward_random_batch(model, dictionary):
    """The model's output on a fixed random batch (3 sentences: 9 source tokens, 7 target tokens), without grad."""
    g = torch.Generator().manual_seed(1)
    src = random_tokens(dictionary, 3, 9, generator=g)
    prev = random_tokens(dictionary, 3, 7, generator=g)
    with torch.no_grad():
        return model(src, torch.full((3,), 9), prev)[0]


def incremental_logprobs(model, src, prev, reorder_at=None, new_order=None, normalize=True):
    """Decode ``prev`` one token at a time as fairseq's generator does (reordering the hypotheses and the
    incremental state at step ``reorder_at``); the log-probabilities of every step, ``B x T x V`` (the
    decoder's raw outputs with ``normalize=False``)."""
    encoder_out = model.encoder(src, src_lengths=None)
    state, steps = {}, []
    for t in range(prev.size(1)):
        if reorder_at is not None and t == reorder_at:
            model.decoder.reorder_incremental_state_scripting(state, new_order)
            encoder_out = model.encoder.reorder_encoder_out(encoder_out, new_order)
            prev = prev.index_select(0, new_order)
        out, _ = model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
        steps.append(model.get_normalized_probs((out, None), log_probs=True) if normalize else out)
    return torch.cat(steps, dim=1)


def padded_source(dictionary, generator):
    """Three source sentences, the first left-padded by three tokens (lengths 3, 6, 6)."""
    short = random_tokens(dictionary, 1, 3, generator)
    padding = torch.full((1, 3), dictionary.pad())
    return torch.cat([torch.cat([padding, short], 1), random_tokens(dictionary, 2, 6, generator)])


def stepwise_with_attention(need_attn, switch, settings=(True, False)):
    """A tiny Lite model (``need_attn`` set on its decoder layers) decoded step by step on a padded source once per
    value in ``settings`` (``switch(value)`` called first); returns the list of (outputs, alignment-layer weights)
    of each run, the full forward pass's (outputs, weights), and the model."""
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", dictionary=d).eval()
    for layer in model.decoder.layers:
        layer.make_generation_fast_(need_attn=need_attn)
    g = torch.Generator().manual_seed(5)
    src, prev = padded_source(d, g), random_tokens(d, 3, 6, g)
    results = []
    with torch.no_grad():
        for value in settings:
            switch(value)
            encoder_out = model.encoder(src, src_lengths=None)
            state, outs, attns = {}, [], []
            for t in range(prev.size(1)):
                out, extra = model.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
                outs.append(out)
                attns.append(extra["attn"][0])
            results.append((torch.cat(outs, 1), torch.cat(attns, 1)))
        full, extra = model(src, None, prev)
    return results, (full, extra["attn"][0]), model, prev.size(1)
