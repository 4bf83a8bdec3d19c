"""Token embeddings as fairseq builds them (normal init with std d^-0.5, zero padding row)."""

import torch.nn as nn
from fairseq import utils


def build_embedding(dictionary, embed_dim: int, path=None) -> nn.Embedding:
    padding_idx = dictionary.pad()
    emb = nn.Embedding(len(dictionary), embed_dim, padding_idx=padding_idx)
    nn.init.normal_(emb.weight, mean=0, std=embed_dim ** -0.5)
    nn.init.constant_(emb.weight[padding_idx], 0)
    if path:
        utils.load_embedding(utils.parse_embedding(path), dictionary, emb)
    return emb
