"""The authors' model name and architecture defaults (their model file's register_model_architecture functions)."""

AUTHORS_MODEL = "transformer_multibranch_v2"

# The authors' architecture defaults (their model file's register_model_architecture functions), used only for
# options a checkpoint's args lack; args saved by their trainer normally carry every one of them.
BASE_DEFAULTS = {
    "encoder_embed_dim": 512, "encoder_ffn_embed_dim": 2048, "encoder_layers": 6, "encoder_attention_heads": 8,
    "encoder_normalize_before": False, "encoder_learned_pos": False, "decoder_layers": 6,
    "decoder_attention_heads": 8, "decoder_normalize_before": False, "decoder_learned_pos": False,
    "attention_dropout": 0.0, "activation_dropout": 0.0, "activation_fn": "relu", "dropout": 0.1,
    "adaptive_softmax_cutoff": None, "share_decoder_input_output_embed": False, "share_all_embeddings": False,
    "no_token_positional_embeddings": False, "encoder_kernel_size_list": [3, 7, 15, 31, 31, 31, 31],
    "decoder_kernel_size_list": [3, 7, 15, 31, 31, 31, 31], "encoder_glu": True, "decoder_glu": True,
    "weight_softmax": True, "encoder_branch_type": None, "decoder_branch_type": None, "conv_linear": False,
    "encoder_ffn_list": [True], "decoder_ffn_list": [True], "max_source_positions": 1024,
    "max_target_positions": 1024,
}
_BIG = {"encoder_embed_dim": 1024, "encoder_ffn_embed_dim": 4096, "encoder_attention_heads": 16,
        "decoder_embed_dim": 1024, "decoder_ffn_embed_dim": 4096, "decoder_attention_heads": 16, "dropout": 0.3}
ARCH_DEFAULTS = {
    AUTHORS_MODEL: {},
    AUTHORS_MODEL + "_wmt_en_de": {},
    AUTHORS_MODEL + "_iwslt_de_en": {"encoder_embed_dim": 512, "encoder_ffn_embed_dim": 1024,
                                     "encoder_attention_heads": 4, "decoder_embed_dim": 512,
                                     "decoder_ffn_embed_dim": 1024, "decoder_attention_heads": 4},
    AUTHORS_MODEL + "_vaswani_wmt_en_de_big": dict(_BIG),
    AUTHORS_MODEL + "_vaswani_wmt_en_fr_big": dict(_BIG, dropout=0.1),
    AUTHORS_MODEL + "_wmt_en_de_big": dict(_BIG, attention_dropout=0.1),
    AUTHORS_MODEL + "_wmt_en_de_big_t2t": dict(_BIG, encoder_normalize_before=True, decoder_normalize_before=True,
                                               attention_dropout=0.1, activation_dropout=0.1),
}
