"""Named architectures of ``lite_transformer``: the base, the paper's presets and a tiny one for quick runs.

Every value is a default: any option given on the command line wins. Sources: the paper (Wu et al., ICLR 2020)
and the authors' released configs (IWSLT'14 De-En: lightweight convolution, no GLU, dropout 0.2, weight dropout
0.1; WMT: dynamic convolution, GLU, shared embeddings, dropout/attention dropout/weight dropout growing with d).
"""

from .architecture_defaults import (register_architecture, set_common_defaults, set_default as _default,
                                    set_defaults, set_side_defaults)

PAPER_KERNEL_SIZES = [3, 7, 15, 31, 31, 31]


@register_architecture("lite_transformer", "lite_transformer")
def base_architecture(args):
    side_kernels = lambda layers: list(PAPER_KERNEL_SIZES[:layers]) or [3]  # noqa: E731
    set_side_defaults(args, "encoder", 512, 6, False, "dynamic", True, side_kernels)
    set_side_defaults(args, "decoder", args.encoder_embed_dim, 6, False, args.encoder_conv_type, args.encoder_glu,
                      side_kernels)
    _default(args, "decoder_attention_heads", 8)
    _default(args, "decoder_output_dim", args.decoder_embed_dim)

    set_common_defaults(args)
    _default(args, "share_all_embeddings", False)


def _iwslt_de_en(args, d):
    """IWSLT'14 De-En: lightweight convolution without GLU, 4 encoder-decoder attention heads."""
    set_defaults(args, encoder_embed_dim=d, decoder_embed_dim=d, encoder_conv_type="lightweight", encoder_glu=False,
                 decoder_attention_heads=4, dropout=0.2, weight_dropout=0.1)
    base_architecture(args)


def _wmt(args, d, dropout, attention_dropout):
    """WMT'14: dynamic convolution with GLU, shared embeddings, 8 encoder-decoder attention heads."""
    set_defaults(args, encoder_embed_dim=d, decoder_embed_dim=d, encoder_conv_type="dynamic", encoder_glu=True,
                 share_all_embeddings=True, decoder_attention_heads=8, dropout=dropout,
                 attention_dropout=attention_dropout, weight_dropout=attention_dropout)
    base_architecture(args)


# the paper's presets: name -> (recipe, d, and for WMT the dropout and the attention / weight dropout)
_PAPER_PRESETS = {
    "lite_transformer_iwslt_de_en_160": (_iwslt_de_en, 160),
    "lite_transformer_iwslt_de_en_240": (_iwslt_de_en, 240),
    "lite_transformer_iwslt_de_en_320": (_iwslt_de_en, 320),
    "lite_transformer_wmt_200": (_wmt, 200, 0.04, 0.03),
    "lite_transformer_wmt_408": (_wmt, 408, 0.08, 0.06),
    "lite_transformer_wmt_496": (_wmt, 496, 0.1, 0.08),
}


def _register_preset(name, recipe, *values):
    def architecture(args):
        recipe(args, *values)

    architecture.__name__ = name
    register_architecture("lite_transformer", name)(architecture)


for _name, (_recipe, *_values) in _PAPER_PRESETS.items():
    _register_preset(_name, _recipe, *_values)


@register_architecture("lite_transformer", "lite_transformer_tiny")
def lite_transformer_tiny(args):
    """A small model for the quickstart and tests: d=128, 3+3 layers, dynamic convolution with GLU."""
    set_defaults(args, encoder_embed_dim=128, encoder_layers=3, decoder_layers=3, encoder_kernel_size_list=[3, 7, 15],
                 decoder_kernel_size_list=[3, 7, 15], decoder_attention_heads=4)
    base_architecture(args)


PRESETS = tuple(_PAPER_PRESETS)
