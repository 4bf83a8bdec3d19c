"""The dropout of Lite Transformer's layers and embeddings: fairseq's ``FairseqDropout`` (same options, same
``--retain-dropout`` behaviour at inference) whose mask comes from :func:`lite_fairseq.kernels.dropout`, a cheaper
random draw than ``bernoulli_`` on the CPU with the same distribution."""

from fairseq.modules.fairseq_dropout import FairseqDropout
from torch import Tensor

from lite_fairseq import kernels


class Dropout(FairseqDropout):
    def forward(self, x: Tensor, inplace: bool = False) -> Tensor:
        if inplace or not (self.p > 0 and (self.training or self.apply_during_inference)):
            return super().forward(x, inplace=inplace)
        return kernels.dropout(x, self.p, training=True)
