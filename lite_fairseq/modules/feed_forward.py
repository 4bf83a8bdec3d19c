"""Position-wise feed-forward block (flattened in Lite Transformer: hidden size = d)."""

import torch.nn as nn
from fairseq import utils
from fairseq.modules.fairseq_dropout import FairseqDropout


class FeedForward(nn.Module):
    def __init__(self, embed_dim: int, hidden_dim: int, activation_fn: str = "relu", activation_dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, embed_dim)
        for fc in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(fc.weight)
            nn.init.constant_(fc.bias, 0.0)
        self.activation_fn = utils.get_activation_fn(activation_fn)
        self.activation_dropout = FairseqDropout(activation_dropout, module_name=self.__class__.__name__)

    def forward(self, x):
        return self.fc2(self.activation_dropout(self.activation_fn(self.fc1(x))))
