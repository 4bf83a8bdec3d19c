"""A SubTransformer as a plain ``lite_transformer``: its model options (what ``fairseq-train`` would parse from
:func:`.space.lite_transformer_args` plus the SuperTransformer's shared options) and the plain model built from them.
The SuperTransformer runs its SubTransformers through such models (:mod:`.supertransformer`) and
:mod:`.extract` writes one as a checkpoint, so both compute the same thing by construction."""

import argparse
import functools
from typing import List

import torch
from fairseq.modules import SinusoidalPositionalEmbedding

from lite_fairseq.models import LiteTransformerModel
from lite_fairseq.models.standalone import StandaloneTask, parse_model_args

from .space import SearchSpace, SubConfig, lite_transformer_args

# options of the SuperTransformer that every SubTransformer shares (``add_common_args`` of the plain model)
SHARED_OPTIONS = ("activation_fn", "dropout", "attention_dropout", "activation_dropout", "weight_dropout",
                  "weight_softmax", "conv_backend", "conv_mask_before_linear", "no_token_positional_embeddings")
POSITIONS = ("max_source_positions", "max_target_positions")


def shared_option_words(super_args) -> List[str]:
    """The SuperTransformer's shared options as command-line words (``--dropout 0.1 ...``)."""
    words: List[str] = []
    for name in SHARED_OPTIONS:
        value = getattr(super_args, name, None)
        if value is not None:
            words += ["--" + name.replace("_", "-"), str(value)]
    return words


def plain_model_args(sub: SubConfig, space: SearchSpace, super_args) -> argparse.Namespace:
    """The options of ``sub`` as a plain ``lite_transformer`` (parsed as fairseq-train parses them)."""
    words = lite_transformer_args(sub, space)[2:] + shared_option_words(super_args)
    args = parse_model_args("lite_transformer", words)
    for name in POSITIONS:
        value = getattr(super_args, name, None)
        if value is not None:
            setattr(args, name, value)
    return args


def build_plain_model(sub: SubConfig, space: SearchSpace, super_args, task: StandaloneTask,
                      device=None) -> LiteTransformerModel:
    """The plain model of ``sub``; ``device="meta"`` builds it without memory or initialisation (for running it
    with other weights through ``torch.func.functional_call``), except the sinusoidal position tables, which are
    computed for real (on the CPU; :func:`match_position_tables` moves them)."""
    args = plain_model_args(sub, space, super_args)
    if device is None:
        return LiteTransformerModel.build_model(args, task)
    with torch.device(device):
        model = LiteTransformerModel.build_model(args, task)
    for module in model.modules():
        if isinstance(module, SinusoidalPositionalEmbedding):
            module.weights = position_table(module.weights.size(0), module.embedding_dim, module.padding_idx)
    return model


@functools.lru_cache(maxsize=16)
def position_table(rows: int, dim: int, padding_idx: int) -> torch.Tensor:
    """fairseq's sinusoidal table (computed once per shape; nothing writes into it)."""
    return SinusoidalPositionalEmbedding.get_embedding(rows, dim, padding_idx)


def match_position_tables(model: torch.nn.Module, like: torch.Tensor) -> None:
    """Move the sinusoidal position tables of ``model`` to the device and dtype of ``like`` if they differ."""
    for module in model.modules():
        if isinstance(module, SinusoidalPositionalEmbedding):
            weights = module.weights
            if weights.device != like.device or weights.dtype != like.dtype:
                module.weights = weights.to(like)


__all__ = ["SHARED_OPTIONS", "build_plain_model", "match_position_tables", "plain_model_args",
           "shared_option_words"]
