"""Helpers for building registered models the way fairseq's command line does, without a data directory."""

import argparse

import torch
from fairseq.data import Dictionary
from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_REGISTRY

import lite_fairseq  # noqa: F401  (registration)


def make_dictionary(size: int = 24) -> Dictionary:
    d = Dictionary()
    for i in range(size):
        d.add_symbol(f"w{i}")
    return d


class FakeTask:
    def __init__(self, src_dict, tgt_dict=None):
        self.source_dictionary = src_dict
        self.target_dictionary = tgt_dict if tgt_dict is not None else src_dict


def parse_model_args(arch: str, cli_args=()):
    """Parse model options like fairseq does: unspecified options stay absent, then the architecture fills
    defaults."""
    model_cls = ARCH_MODEL_REGISTRY[arch]
    parser = argparse.ArgumentParser(argument_default=argparse.SUPPRESS, exit_on_error=False)
    model_cls.add_args(parser)
    args = parser.parse_args(list(cli_args))
    args.arch = arch
    ARCH_CONFIG_REGISTRY[arch](args)
    return args


def build_model(arch: str, cli_args=(), dictionary=None, seed: int = 0):
    torch.manual_seed(seed)
    dictionary = dictionary if dictionary is not None else make_dictionary()
    args = parse_model_args(arch, cli_args)
    return ARCH_MODEL_REGISTRY[arch].build_model(args, FakeTask(dictionary))


def random_tokens(dictionary, batch: int, length: int, generator=None):
    low = dictionary.nspecial
    return torch.randint(low, len(dictionary), (batch, length), generator=generator)
