"""Which of its two paths fairseq's :class:`~fairseq.modules.MultiheadAttention` takes.

When it can, fairseq hands the whole attention to torch's fused ``F.multi_head_attention_forward``, passing its
projection weights as tensors. Its own step-by-step path instead calls ``q_proj``/``k_proj``/``v_proj``/``out_proj``
as modules, applies its ``dropout_module`` to the attention weights and can return every head's weights. Setting
the module's ``skip_embed_dim_check`` (meant for such changes, see fairseq's source) is what sends a call down the
step-by-step path; the arithmetic is the same. Three parts of the plugin need that path:

* int8 decoding (:mod:`.int8`): quantised projections must run as modules, for good (:func:`use_module_path`);
* attention dropout on the CPU (:func:`.dropout.attention_dropout_path`): the plugin's cheaper mask;
* attention maps (:mod:`lite_fairseq.analysis.attention_maps`): the weights of every head.

The last two route only while they need it (:func:`module_path`), and give each module back the flag it had.
"""

import contextlib
from typing import Iterable

from fairseq.modules import MultiheadAttention


def use_module_path(mha: MultiheadAttention) -> MultiheadAttention:
    """Send every later call of ``mha`` down its step-by-step path. Returns ``mha``."""
    mha.skip_embed_dim_check = True
    return mha


@contextlib.contextmanager
def module_path(modules: Iterable[MultiheadAttention]):
    """While active, calls of ``modules`` take the step-by-step path; afterwards each has its own flag again (a
    module routed for good, such as an int8 one, stays routed)."""
    modules = list(modules)
    saved = [m.skip_embed_dim_check for m in modules]
    for m in modules:
        m.skip_embed_dim_check = True
    try:
        yield
    finally:
        for m, flag in zip(modules, saved):
            m.skip_embed_dim_check = flag
