"""A fairseq --user-dir for the distributed tests: the tiny Lite Transformer plus a branch that never runs.

``lite_transformer_unused_branch`` is ``lite_transformer`` with one extra ``nn.Linear`` that takes part in no
forward pass, so its parameters get no gradient: the situation (a branch switched off, a frozen head) that makes
PyTorch's DistributedDataParallel fail or wait unless told about unused parameters.
"""

import torch.nn as nn
from fairseq.models import register_model, register_model_architecture

import lite_fairseq  # noqa: F401  (registers lite_transformer and its architectures)
from lite_fairseq.models.lite_transformer import LiteTransformerModel
from lite_fairseq.models.lite_transformer_architectures import lite_transformer_tiny


@register_model("lite_transformer_unused_branch")
class LiteTransformerWithUnusedBranch(LiteTransformerModel):
    def __init__(self, encoder, decoder):
        super().__init__(encoder, decoder)
        dim = encoder.embed_tokens.embedding_dim
        self.unused_branch = nn.Linear(dim, dim)


@register_model_architecture("lite_transformer_unused_branch", "lite_transformer_tiny_unused_branch")
def lite_transformer_tiny_unused_branch(args):
    lite_transformer_tiny(args)
