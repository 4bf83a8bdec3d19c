"""Named architectures of ``lite_transformer``: the base, the paper's presets and a tiny one for quick runs.

Every value is a default: any option given on the command line wins. Sources: the paper (Wu et al., ICLR 2020)
and the authors' released configs (IWSLT'14 De-En: lightweight convolution, no GLU, dropout 0.2, weight dropout
0.1; WMT: dynamic convolution, GLU, shared embeddings, dropout/attention dropout/weight dropout growing with d).
"""

from .architecture_defaults import register_architecture, set_common_defaults, set_default as _default, set_defaults

PAPER_KERNEL_SIZES = [3, 7, 15, 31, 31, 31]


@register_architecture("lite_transformer", "lite_transformer")
def base_architecture(args):
    _default(args, "encoder_embed_path", None)
    _default(args, "encoder_embed_dim", 512)
    _default(args, "encoder_ffn_embed_dim", args.encoder_embed_dim)  # flattened FFN
    _default(args, "encoder_layers", 6)
    _default(args, "encoder_normalize_before", False)
    _default(args, "encoder_learned_pos", False)
    _default(args, "encoder_branch_type", None)
    _default(args, "encoder_attn_branch_dim", None)  # None: half of d
    _default(args, "encoder_attn_branch_heads", 4)
    _default(args, "encoder_conv_branch_heads", 4)
    _default(args, "encoder_conv_type", "dynamic")
    _default(args, "encoder_kernel_size_list", list(PAPER_KERNEL_SIZES[: args.encoder_layers]) or [3])
    _default(args, "encoder_glu", True)

    _default(args, "decoder_embed_path", None)
    _default(args, "decoder_embed_dim", args.encoder_embed_dim)
    _default(args, "decoder_ffn_embed_dim", args.decoder_embed_dim)
    _default(args, "decoder_layers", 6)
    _default(args, "decoder_normalize_before", False)
    _default(args, "decoder_learned_pos", False)
    _default(args, "decoder_branch_type", None)
    _default(args, "decoder_attn_branch_dim", None)
    _default(args, "decoder_attn_branch_heads", 4)
    _default(args, "decoder_conv_branch_heads", 4)
    _default(args, "decoder_conv_type", args.encoder_conv_type)
    _default(args, "decoder_kernel_size_list", list(PAPER_KERNEL_SIZES[: args.decoder_layers]) or [3])
    _default(args, "decoder_glu", args.encoder_glu)
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
