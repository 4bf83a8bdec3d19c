"""The one rule every architecture function follows: a value given on the command line wins."""


def set_default(args, name, value):
    """Set ``args.name`` to ``value`` unless the user gave it (fairseq leaves unspecified options absent or None)."""
    if getattr(args, name, None) is None:
        setattr(args, name, value)


def set_common_defaults(args):
    """Defaults of the options every LSRA model shares (``add_common_args``): dropouts, convolution kernels and
    backend, positions, decoder input/output embedding sharing."""
    set_default(args, "activation_fn", "relu")
    set_default(args, "dropout", 0.1)
    set_default(args, "attention_dropout", 0.0)
    set_default(args, "activation_dropout", 0.0)
    set_default(args, "weight_dropout", args.attention_dropout)
    set_default(args, "weight_softmax", True)
    set_default(args, "conv_backend", "auto")
    set_default(args, "conv_mask_before_linear", False)
    set_default(args, "no_token_positional_embeddings", False)
    set_default(args, "share_decoder_input_output_embed", False)
