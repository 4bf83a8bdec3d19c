"""The dropout of Lite Transformer's layers, embeddings and attention weights: fairseq's ``FairseqDropout`` (same
options, same ``--retain-dropout`` behaviour at inference) whose mask comes from :func:`lite_fairseq.kernels.dropout`,
a cheaper random draw than ``bernoulli_`` on the CPU with the same distribution.

fairseq's :class:`~fairseq.modules.MultiheadAttention` drops attention weights in two places: its own step-by-step
path applies its ``dropout_module`` (which :func:`use_plugin_dropout` makes a :class:`Dropout`), while its fast path
hands the probability to torch's fused ``multi_head_attention_forward``, whose CPU dropout draws ``bernoulli_`` per
weight. :func:`attention_dropout_path` sends a call that drops attention weights on the CPU down the first path
(:mod:`.attention_path`).
"""

import contextlib

from fairseq.modules import MultiheadAttention
from fairseq.modules.fairseq_dropout import FairseqDropout
from torch import Tensor

from lite_fairseq import kernels

from .attention_path import module_path


class Dropout(FairseqDropout):
    def forward(self, x: Tensor, inplace: bool = False) -> Tensor:
        if inplace or not (self.p > 0 and (self.training or self.apply_during_inference)):
            return super().forward(x, inplace=inplace)
        return kernels.dropout(x, self.p, training=True)


def use_plugin_dropout(mha: MultiheadAttention) -> MultiheadAttention:
    """Give ``mha`` a :class:`Dropout` on its attention weights (same probability and name; no parameters, so
    checkpoints are unchanged). Returns ``mha``."""
    old = mha.dropout_module
    mha.dropout_module = Dropout(old.p, module_name=old.module_name)
    return mha


@contextlib.contextmanager
def attention_dropout_path(mha: MultiheadAttention, x: Tensor):
    """While active, a call of ``mha`` that drops attention weights on the CPU (in training, or with
    ``--retain-dropout``) takes fairseq's step-by-step path (:mod:`.attention_path`) and so its ``dropout_module``;
    the arithmetic is the same but for the mask's draw. Any other call is left on the path it would take."""
    drop = mha.dropout_module
    if drop.p > 0 and (mha.training or drop.apply_during_inference) and x.device.type == "cpu":
        with module_path([mha]):
            yield
    else:
        yield
