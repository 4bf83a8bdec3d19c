"""The one rule every architecture function follows: a value given on the command line (or in a config) wins."""

import functools

from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_NAME_REGISTRY, register_model_architecture

from .config import resolve_aliases


def set_default(args, name, value):
    """Set ``args.name`` to ``value`` unless the user gave it (fairseq leaves unspecified options absent or None)."""
    if getattr(args, name, None) is None:
        setattr(args, name, value)


def set_defaults(args, **values):
    """:func:`set_default` for each keyword, in order."""
    for name, value in values.items():
        set_default(args, name, value)


def set_side_defaults(args, side: str, embed_dim, layers: int, normalize_before: bool, conv_type: str, glu: bool,
                      kernel_sizes):
    """The options of one LSRA stack (``side``: encoder or decoder): d, flattened FFN (hidden = d), layers, the
    d/2 + d/2 branch split with 4 + 4 heads, and ``kernel_sizes(num_layers)`` for the kernel list."""
    set_defaults(args, **{f"{side}_embed_path": None, f"{side}_embed_dim": embed_dim})
    set_default(args, f"{side}_ffn_embed_dim", getattr(args, f"{side}_embed_dim"))
    set_defaults(args, **{f"{side}_layers": layers, f"{side}_normalize_before": normalize_before,
                          f"{side}_learned_pos": False, f"{side}_branch_type": None,
                          f"{side}_attn_branch_dim": None,  # None: half of d
                          f"{side}_attn_branch_heads": 4, f"{side}_conv_branch_heads": 4,
                          f"{side}_conv_type": conv_type})
    set_default(args, f"{side}_kernel_size_list", kernel_sizes(getattr(args, f"{side}_layers")))
    set_default(args, f"{side}_glu", glu)


def register_architecture(model_name: str, arch_name: str):
    """fairseq's ``register_model_architecture``, with the model's option aliases resolved first: a
    fairseq-hydra-train config may say ``encoder_attention_heads`` where the command line's alias
    ``--encoder-attention-heads`` already lands in ``encoder_attn_branch_heads``, and a preset must not set a
    default over it."""

    def wrap(fn):
        @functools.wraps(fn)
        def architecture(args):
            resolve_aliases(args, model_name)
            fn(args)

        if arch_name == model_name and ARCH_MODEL_NAME_REGISTRY.get(arch_name) == model_name:
            # register_model(name, dataclass=...) registered a no-op architecture under the model's own name
            ARCH_CONFIG_REGISTRY[arch_name] = architecture
        else:
            register_model_architecture(model_name, arch_name)(architecture)
        return architecture

    return wrap


def set_common_defaults(args):
    """Defaults of the options every LSRA model shares (``add_common_args``): dropouts, convolution kernels and
    backend, positions, decoder input/output embedding sharing."""
    set_defaults(args, activation_fn="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0)
    set_defaults(args, weight_dropout=args.attention_dropout, weight_softmax=True, conv_backend="auto",
                 conv_mask_before_linear=False, no_token_positional_embeddings=False,
                 share_decoder_input_output_embed=False)
