"""Named architectures of ``lite_transformer_lm``: the base, the paper's WikiText-103 model, a ~500M Mult-Adds one and
a tiny one for quick CPU runs. Every value is a default: any option given on the command line wins.

``lite_transformer_lm_wiki103`` is the paper's model. Sources: the paper (12 layers, d=896, FFN 896, pre-norm, LSRA
split 448 attention (4 heads) + 448 dynamic convolution (4 heads, GLU), adaptive input and softmax, cutoffs
20000,60000, factor 4, tied) and the authors' config ``configs/wikitext-103/attention/multibranch_v2/embed896.yml``
with the architecture it names (``transformer_lm_multibranch_v2_wiki103_small``): dropout 0.21, attention dropout
0.14, weight (DropConnect) dropout 0.14, activation dropout 0.1, adaptive softmax dropout 0.2, tied adaptive
projections, no final layer norm, kernel sizes 15,15,31x4,63x6 (the first 12 of the authors' default list).
It has 37.18M parameters outside the adaptive input and softmax (paper: 37.2M).

Mult-Adds, counted like the paper (30 tokens; embeddings and output layer excluded; attention products included):
per token and layer, LSRA + flattened FFN cost about 3.75 d^2 (attention branch d^2, GLU input projection d^2/2,
output projection d^2/4, FFN 2 d^2), plus 2.5 d K for the dynamic kernels (prediction + taps) and 2 x 30 x d/2 for
the attention products. Counted with forward hooks on the built models (30 tokens): 1129M at d=896 (paper: 1147M);
the Transformer baseline ``transformer_lm_paper_wiki103`` counts 1143.5M (paper: 1143M).

``lite_transformer_lm_wiki103_small`` is ours, not the paper's: the same 12 layers, kernel sizes, heads, pre-norm and
adaptive input/softmax, narrowed to d=592 (296 + 296 channels, FFN 592) so the same count gives 503M Mult-Adds
(16.5M parameters), the ~500M budget; its dropouts are scaled down with the width as the authors do for their narrower
WMT models (0.15 / 0.1 / 0.1). The matching Transformer LM is ``transformer_lm_paper_wiki103_small``.
"""

from .architecture_defaults import (register_architecture, set_common_defaults, set_default as _default,
                                    set_defaults, set_side_defaults)

# The authors' LM default kernel-size list (15 x2, 31 x4, then 63); a model takes its first N entries.
LM_KERNEL_SIZES = [15] * 2 + [31] * 4 + [63] * 11


def lm_kernel_sizes(num_layers: int):
    if num_layers <= len(LM_KERNEL_SIZES):
        return LM_KERNEL_SIZES[:num_layers]
    return LM_KERNEL_SIZES + [LM_KERNEL_SIZES[-1]] * (num_layers - len(LM_KERNEL_SIZES))


@register_architecture("lite_transformer_lm", "lite_transformer_lm")
def base_lm_architecture(args):
    # pre-norm, as the paper's LM (and fairseq's LMs)
    set_side_defaults(args, "decoder", 512, 6, True, "dynamic", True, lambda layers: lm_kernel_sizes(layers) or [15])
    _default(args, "no_decoder_final_norm", False)
    _default(args, "decoder_output_dim", args.decoder_embed_dim)
    _default(args, "decoder_input_dim", args.decoder_embed_dim)

    set_common_defaults(args)

    _default(args, "adaptive_input", False)
    _default(args, "adaptive_input_factor", 4.0)
    _default(args, "adaptive_input_cutoff", None)
    _default(args, "adaptive_softmax_cutoff", None)
    _default(args, "adaptive_softmax_dropout", 0.0)
    _default(args, "adaptive_softmax_factor", 4.0)
    _default(args, "tie_adaptive_weights", False)
    _default(args, "tie_adaptive_proj", False)


def _wiki103(args, d, dropout, attention_dropout):
    """WikiText-103: 12 pre-norm layers, d/2 + d/2 split (4 + 4 heads), GLU, adaptive input/softmax tied."""
    set_defaults(args, decoder_embed_dim=d, decoder_ffn_embed_dim=d, decoder_layers=12, decoder_conv_type="dynamic",
                 decoder_glu=True, dropout=dropout, attention_dropout=attention_dropout,
                 weight_dropout=attention_dropout, activation_dropout=0.1, adaptive_input=True,
                 adaptive_input_cutoff="20000,60000", adaptive_softmax_cutoff="20000,60000",
                 adaptive_softmax_dropout=0.2, tie_adaptive_weights=True, tie_adaptive_proj=True,
                 no_decoder_final_norm=True)
    base_lm_architecture(args)


# name: (d, dropout, attention / weight dropout)
_WIKI103_PRESETS = {
    "lite_transformer_lm_wiki103": (896, 0.21, 0.14),
    "lite_transformer_lm_wiki103_small": (592, 0.15, 0.1),
}


def _register_preset(name, d, dropout, attention_dropout):
    def architecture(args):
        _wiki103(args, d, dropout, attention_dropout)

    architecture.__name__ = name
    register_architecture("lite_transformer_lm", name)(architecture)


for _name, _values in _WIKI103_PRESETS.items():
    _register_preset(_name, *_values)


@register_architecture("lite_transformer_lm", "lite_transformer_lm_tiny")
def lite_transformer_lm_tiny(args):
    """A small model for tests and quick CPU runs: d=128, 3 layers, kernels 3,7,15, plain tied embeddings (pass
    --adaptive-input/--adaptive-softmax-cutoff with cutoffs that fit your dictionary to try the adaptive ones)."""
    set_defaults(args, decoder_embed_dim=128, decoder_layers=3, decoder_kernel_size_list=[3, 7, 15])
    _default(args, "share_decoder_input_output_embed",
             not getattr(args, "adaptive_input", False) and not getattr(args, "adaptive_softmax_cutoff", None))
    base_lm_architecture(args)


LM_PRESETS = tuple(_WIKI103_PRESETS)
