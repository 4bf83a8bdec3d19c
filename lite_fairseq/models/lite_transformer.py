"""The ``lite_transformer`` fairseq model: an encoder-decoder of LSRA layers (Wu et al., ICLR 2020)."""

from fairseq.models import FairseqEncoderDecoderModel, register_model

from lite_fairseq.modules.int8 import cpu_int8_impl, quantize_dynamic_for_cpu

from .config import LiteTransformerConfig, checked_config
from .lite_transformer_decoder import LiteTransformerDecoder
from .lite_transformer_encoder import LiteTransformerEncoder
from .lite_transformer_options import (add_lite_transformer_args, resolve_encoder_decoder_attention,
                                      resolve_side_layout)
from .embedding import build_embedding

DEFAULT_MAX_SOURCE_POSITIONS = 1024
DEFAULT_MAX_TARGET_POSITIONS = 1024


@register_model("lite_transformer", dataclass=LiteTransformerConfig)
class LiteTransformerModel(FairseqEncoderDecoderModel):
    """Lite Transformer for translation and summarization.

    Each layer's self-attention is replaced by Long-Short Range Attention: the channels are split between a
    multi-head attention branch and a lightweight or dynamic convolution branch. Architectures:
    ``lite_transformer_iwslt_de_en_{160,240,320}``, ``lite_transformer_wmt_{200,408,496}``,
    ``lite_transformer_tiny`` and the base ``lite_transformer``.
    """

    @staticmethod
    def add_args(parser):
        """The command-line options (kept instead of the dataclass's: ``--flag False`` and the aliases)."""
        add_lite_transformer_args(parser)

    @classmethod
    def build_model(cls, args, task):
        from .lite_transformer_architectures import base_architecture

        args = checked_config(args, LiteTransformerConfig, "lite_transformer")
        base_architecture(args)
        task_cfg = getattr(task, "cfg", None)
        for name, default in (("max_source_positions", DEFAULT_MAX_SOURCE_POSITIONS),
                              ("max_target_positions", DEFAULT_MAX_TARGET_POSITIONS)):
            if getattr(args, name, None) is None:
                setattr(args, name, getattr(task_cfg, name, None) or default)
        # all option checks happen here, before any weight is allocated
        encoder_layout = resolve_side_layout(args, "encoder")
        decoder_layout = resolve_side_layout(args, "decoder")
        int8_impl = cpu_int8_impl(getattr(args, "cpu_int8", False))  # --model-overrides "{'cpu_int8': True}"
        ende = resolve_encoder_decoder_attention(args)
        if getattr(args, "decoder_output_dim", args.decoder_embed_dim) != args.decoder_embed_dim:
            raise ValueError("--decoder-output-dim must equal --decoder-embed-dim")

        src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
        if args.share_all_embeddings:
            if src_dict != tgt_dict:
                raise ValueError("--share-all-embeddings needs a joined dictionary (fairseq-preprocess "
                                 "--joined-dictionary); pass --share-all-embeddings False otherwise")
            if args.encoder_embed_dim != args.decoder_embed_dim:
                raise ValueError("--share-all-embeddings needs --encoder-embed-dim equal to --decoder-embed-dim")
            if args.decoder_embed_path and args.decoder_embed_path != args.encoder_embed_path:
                raise ValueError("--share-all-embeddings is not compatible with a separate --decoder-embed-path")
            encoder_embed = build_embedding(src_dict, args.encoder_embed_dim, args.encoder_embed_path)
            decoder_embed = encoder_embed
            args.share_decoder_input_output_embed = True
        else:
            encoder_embed = build_embedding(src_dict, args.encoder_embed_dim, args.encoder_embed_path)
            decoder_embed = build_embedding(tgt_dict, args.decoder_embed_dim, args.decoder_embed_path)
        encoder = LiteTransformerEncoder(args, src_dict, encoder_embed, encoder_layout,
                                         extra_layer_outputs=ende.extra_encoder_layers)
        decoder = LiteTransformerDecoder(args, tgt_dict, decoder_embed, decoder_layout, encoder_decoder_attention=ende)
        model = cls(encoder, decoder)
        model.cpu_int8 = int8_impl
        return model

    supports_cpu_int8 = True

    def prepare_for_inference_(self, cfg):
        """fairseq-generate/interactive call this; with the ``cpu_int8`` model override the linear layers become
        dynamically quantised int8 ones (:func:`lite_fairseq.compression.quantize_dynamic_for_cpu`; ``True`` or an
        implementation name, ``'torchao'``)."""
        super().prepare_for_inference_(cfg)
        if getattr(self, "cpu_int8", None):
            quantize_dynamic_for_cpu(self, impl=self.cpu_int8)

    def forward(self, src_tokens, src_lengths, prev_output_tokens, return_all_hiddens: bool = False,
                features_only: bool = False, alignment_layer=None, alignment_heads=None):
        encoder_out = self.encoder(src_tokens, src_lengths=src_lengths, return_all_hiddens=return_all_hiddens)
        return self.decoder(prev_output_tokens, encoder_out=encoder_out, features_only=features_only,
                            alignment_layer=alignment_layer, src_lengths=src_lengths,
                            return_all_hiddens=return_all_hiddens)


__all__ = ["LiteTransformerModel"]
