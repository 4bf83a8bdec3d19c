"""Token embeddings as fairseq builds them (normal init with std d^-0.5, zero padding row), and the embedding
front end the encoder and decoder share (scaled tokens + positions + dropout)."""

import math

import torch
import torch.nn as nn
from fairseq import utils
from fairseq.modules import PositionalEmbedding, SinusoidalPositionalEmbedding

from lite_fairseq.modules import Dropout


def build_embedding(dictionary, embed_dim: int, path=None) -> nn.Embedding:
    padding_idx = dictionary.pad()
    emb = nn.Embedding(len(dictionary), embed_dim, padding_idx=padding_idx)
    nn.init.normal_(emb.weight, mean=0, std=embed_dim ** -0.5)
    nn.init.constant_(emb.weight[padding_idx], 0)
    if path:
        utils.load_embedding(utils.parse_embedding(path), dictionary, emb)
    return emb


def init_embedding_front(module: nn.Module, args, embed_tokens: nn.Embedding, max_positions: int,
                         learned_pos: bool) -> int:
    """Give an encoder or decoder its ``embed_tokens``, ``embed_scale`` (sqrt d), ``embed_positions`` (None with
    --no-token-positional-embeddings) and ``dropout_module``, under the names fairseq's checkpoints use; returns d."""
    embed_dim = embed_tokens.embedding_dim
    module.padding_idx = embed_tokens.padding_idx
    module.embed_tokens = embed_tokens
    module.embed_scale = math.sqrt(embed_dim)
    module.embed_positions = None if args.no_token_positional_embeddings else PositionalEmbedding(
        max_positions, embed_dim, module.padding_idx, learned=learned_pos)
    module.dropout_module = Dropout(args.dropout, module_name=module.__class__.__name__)
    return embed_dim


def upgrade_positions_state(module: nn.Module, state_dict, name: str) -> None:
    """Sinusoidal positions are not parameters: drop a stored table and keep fairseq's placeholder buffer."""
    if isinstance(module.embed_positions, SinusoidalPositionalEmbedding):
        state_dict.pop(f"{name}.embed_positions.weights", None)
        state_dict[f"{name}.embed_positions._float_tensor"] = torch.FloatTensor(1)
