"""The paper's Transformer language-model baseline, as architectures of fairseq's own ``transformer_lm``.

``transformer_lm_paper_wiki103``: 12 layers, d=512, FFN 2048, 8 heads, with fairseq's WikiText-103 recipe around
it (adaptive input and adaptive softmax with cutoffs 20000,60000, factor 4, tied weights and projections, pre-norm
without a final norm, dropout 0.3, attention/activation dropout 0.1, adaptive softmax dropout 0.2): the
Transformer of about the same cost as ``lite_transformer_lm_wiki103`` (paper: 1143M vs 1147M Mult-Adds, perplexity
about 24.0 vs 22.2). This is also the architecture the authors' Lite LM starts from
(``transformer_lm_multibranch_v2_wiki103_small``: 12 layers, 512, 2048).

``transformer_lm_paper_wiki103_small`` (ours): the same at d=336, FFN 1344, for the ~500M Mult-Adds budget of
``lite_transformer_lm_wiki103_small`` (counted like the paper at 30 tokens: 495M, against 503M for the Lite model).
Any option given on the command line wins.
"""

from fairseq.models import register_model_architecture
from fairseq.models.transformer_lm import transformer_lm_baevski_wiki103

from .architecture_defaults import set_default as _default


def _paper_transformer_lm(args, d, ffn):
    _default(args, "decoder_layers", 12)
    _default(args, "decoder_embed_dim", d)
    _default(args, "decoder_ffn_embed_dim", ffn)
    _default(args, "decoder_attention_heads", 8)
    transformer_lm_baevski_wiki103(args)  # fairseq's adaptive-input recipe fills the rest


@register_model_architecture("transformer_lm", "transformer_lm_paper_wiki103")
def transformer_lm_paper_wiki103(args):
    _paper_transformer_lm(args, 512, 2048)


@register_model_architecture("transformer_lm", "transformer_lm_paper_wiki103_small")
def transformer_lm_paper_wiki103_small(args):
    _paper_transformer_lm(args, 336, 1344)


LM_BASELINES = ("transformer_lm_paper_wiki103", "transformer_lm_paper_wiki103_small")
