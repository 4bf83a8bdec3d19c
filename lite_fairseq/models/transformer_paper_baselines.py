"""The paper's Transformer baselines at matched budgets, as architectures of fairseq's own ``transformer``.

IWSLT'14 De-En baselines use FFN 2d and 4 heads (like fairseq's transformer_iwslt_de_en); WMT baselines use FFN 4d,
8 heads and shared embeddings. Six layers each side. Any option given on the command line wins.
"""

from fairseq.models import register_model_architecture
from fairseq.models.transformer import base_architecture as transformer_base_architecture

from .architecture_defaults import set_default as _default


def _paper_transformer(args, d, ffn_multiple, heads, dropout, share_all):
    for side in ("encoder", "decoder"):
        _default(args, f"{side}_embed_dim", d)
        _default(args, f"{side}_ffn_embed_dim", ffn_multiple * d)
        _default(args, f"{side}_attention_heads", heads)
        _default(args, f"{side}_layers", 6)
    _default(args, "dropout", dropout)
    if share_all:
        _default(args, "share_all_embeddings", True)
    transformer_base_architecture(args)


# name: (d, FFN multiple of d, heads, dropout, shared embeddings)
_PAPER_BASELINES = {
    "transformer_paper_iwslt_128": (128, 2, 4, 0.2, False),
    "transformer_paper_iwslt_192": (192, 2, 4, 0.2, False),
    "transformer_paper_iwslt_240": (240, 2, 4, 0.2, False),
    "transformer_paper_wmt_128": (128, 4, 8, 0.1, True),
    "transformer_paper_wmt_256": (256, 4, 8, 0.1, True),
    "transformer_paper_wmt_320": (320, 4, 8, 0.1, True),
}


def _register(name, d, ffn_multiple, heads, dropout, share_all):
    def architecture(args):
        _paper_transformer(args, d, ffn_multiple, heads, dropout, share_all)

    architecture.__name__ = name
    register_model_architecture("transformer", name)(architecture)


for _name, _values in _PAPER_BASELINES.items():
    _register(_name, *_values)

BASELINES = tuple(_PAPER_BASELINES)
