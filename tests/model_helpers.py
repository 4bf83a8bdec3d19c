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
