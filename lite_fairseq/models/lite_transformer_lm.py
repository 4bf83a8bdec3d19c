"""The ``lite_transformer_lm`` fairseq model: a decoder-only stack of LSRA layers for ``--task language_modeling``.

Each layer is the decoder layer of the translation model without encoder-decoder attention: LSRA (causal
convolution branch + self-attention branch) and a flattened FFN, pre-norm by default. Token embeddings may be
fairseq's ``AdaptiveInput`` and the output fairseq's ``AdaptiveSoftmax``, tied to each other, as in the paper's
WikiText-103 model. Incremental decoding (sampling, ``--prefix-size`` completion) keeps the attention keys and the
last K-1 convolution inputs per layer, so it equals the full forward.
"""

from fairseq.models import FairseqLanguageModel, register_model
from fairseq.modules import AdaptiveInput, AdaptiveSoftmax

from .config import LiteTransformerLMConfig
from .embedding import build_embedding
from .lite_transformer_decoder import LiteTransformerDecoder
from .lite_transformer_lm_options import add_lite_transformer_lm_args, resolve_adaptive_settings
from .lite_transformer_options import resolve_side_layout
from .model_args import prepared_args

@register_model("lite_transformer_lm", dataclass=LiteTransformerLMConfig)
class LiteTransformerLanguageModel(FairseqLanguageModel):
    """Lite Transformer language model. Architectures: ``lite_transformer_lm`` (base),
    ``lite_transformer_lm_wiki103`` (the paper's), ``lite_transformer_lm_wiki103_small`` (~500M Mult-Adds),
    ``lite_transformer_lm_tiny`` (quick CPU runs)."""

    # the command-line options (kept instead of the dataclass's: ``--flag False`` and the alias)
    add_args = staticmethod(add_lite_transformer_lm_args)

    @classmethod
    def build_model(cls, args, task):
        from .lite_transformer_lm_architectures import base_lm_architecture

        # every option check happens here, before any weight is allocated
        args = prepared_args(args, task, LiteTransformerLMConfig, "lite_transformer_lm", base_lm_architecture,
                             {"max_target_positions": ("tokens_per_sample",)})
        layout = resolve_side_layout(args, "decoder")
        dictionary = task.source_dictionary
        if task.target_dictionary is not None and len(task.target_dictionary) != len(dictionary):
            raise ValueError("lite_transformer_lm needs the same input and output dictionary (fairseq's "
                             "language_modeling task without --output-dictionary-size)")
        adaptive = resolve_adaptive_settings(args, len(dictionary))
        if adaptive.input_cutoff is not None:
            if args.decoder_embed_path:
                raise ValueError("--decoder-embed-path loads plain embeddings; it cannot be used with --adaptive-input")
            embed_tokens = AdaptiveInput(len(dictionary), dictionary.pad(), args.decoder_embed_dim,
                                         args.adaptive_input_factor, args.decoder_embed_dim, adaptive.input_cutoff)
        else:
            embed_tokens = build_embedding(dictionary, args.decoder_embed_dim, args.decoder_embed_path)
        adaptive_softmax = None
        if adaptive.softmax_cutoff is not None:
            adaptive_softmax = AdaptiveSoftmax(
                len(task.target_dictionary), args.decoder_embed_dim, adaptive.softmax_cutoff,
                args.adaptive_softmax_dropout, factor=args.adaptive_softmax_factor,
                adaptive_inputs=embed_tokens if args.tie_adaptive_weights else None,
                tie_proj=args.tie_adaptive_proj)
        decoder = LiteTransformerDecoder(args, task.target_dictionary, embed_tokens, layout, no_encoder_attn=True,
                                         adaptive_softmax=adaptive_softmax)
        return cls(decoder)


__all__ = ["LiteTransformerLanguageModel"]
