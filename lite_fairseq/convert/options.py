"""The authors' options (their checkpoint's args, with their architecture defaults for missing ones) translated
into ``lite_transformer`` command-line options; options ``lite_transformer`` cannot represent are refused by name."""

import argparse
from typing import List, Optional, Tuple

# branch-spec parsing: the one place the converter imports it from (the branch-type format is the same on both sides)
from lite_fairseq.models.branch_options import BranchSpecError, parse_branch_spec, split_list_argument

from .defaults import ARCH_DEFAULTS, AUTHORS_MODEL, BASE_DEFAULTS
from .errors import ConversionError


def _truth(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", "none", ""):
        return False
    raise ConversionError(f"option {name}={value!r} of the authors' checkpoint is not a boolean")


class AuthorsOptions:
    """The authors' args with their architecture's defaults filled in for missing options."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        arch = getattr(args, "arch", None)
        if not isinstance(arch, str):
            raise ConversionError("the checkpoint's args have no 'arch': not a fairseq training checkpoint")
        if arch.startswith("transformer_lm_multibranch"):
            raise ConversionError(f"arch {arch!r} is the authors' language model; this converter handles the "
                                  f"encoder-decoder model {AUTHORS_MODEL!r} only")
        if not arch.startswith(AUTHORS_MODEL):
            raise ConversionError(f"arch {arch!r} is not the authors' Lite Transformer ({AUTHORS_MODEL} or one of "
                                  f"its named architectures: {', '.join(sorted(ARCH_DEFAULTS))})")
        self.arch = arch
        self.arch_defaults = ARCH_DEFAULTS.get(arch, {})

    def get(self, name: str):
        if hasattr(self.args, name):
            return getattr(self.args, name)
        if name in self.arch_defaults:
            return self.arch_defaults[name]
        derived = {"decoder_embed_dim": "encoder_embed_dim", "decoder_ffn_embed_dim": "encoder_ffn_embed_dim",
                   "weight_dropout": "attention_dropout"}
        if name in derived:
            return self.get(derived[name])
        if name in BASE_DEFAULTS:
            return BASE_DEFAULTS[name]
        raise ConversionError(f"the checkpoint's args lack {name!r} and arch {self.arch!r} has no default for it")

    def flag(self, name: str) -> bool:
        return _truth(self.get(name), name)


def _string_list(value, name: str) -> Optional[List[str]]:
    if value is None:
        return None
    items = split_list_argument(value if isinstance(value, (list, tuple)) else [value])
    if not items:
        raise ConversionError(f"option {name} of the authors' checkpoint is empty")
    return items


def _kernel_sizes(opts: AuthorsOptions, side: str, layers: int) -> List[int]:
    """The authors' rule: one entry applies to every layer, a longer list is cut to the layers."""
    name = f"{side}_kernel_size_list"
    raw = _string_list(opts.get(name), name) or []
    try:
        sizes = [int(v) for v in raw]
    except ValueError:
        raise ConversionError(f"option {name}={opts.get(name)!r}: kernel sizes must be integers") from None
    if len(sizes) == 1:
        sizes = sizes * layers
    sizes = sizes[:layers]
    if len(sizes) != layers:
        raise ConversionError(f"option {name}={raw} has {len(sizes)} entries for {layers} {side} layers")
    return sizes


class SideSettings:
    """One side (encoder or decoder): branch specs, kernel sizes and GLU, in lite_transformer's terms."""

    def __init__(self, opts: AuthorsOptions, side: str):
        self.side = side
        self.embed_dim = int(opts.get(f"{side}_embed_dim"))
        self.layers = int(opts.get(f"{side}_layers"))
        self.kernel_sizes = _kernel_sizes(opts, side, self.layers)
        option = f"{side}_branch_type"
        texts = _string_list(opts.get(option), option)
        self.plain_attention = texts is None  # the authors' model then uses full-width attention
        if self.plain_attention:
            heads = int(opts.get(f"{side}_attention_heads"))
            texts = [f"attn:1:{self.embed_dim}:{heads}"]
        try:
            self.specs = [parse_branch_spec(t, option=option) for t in texts]
        except BranchSpecError as e:
            raise ConversionError(f"authors' checkpoint: {e}") from None
        total = sum(s.dim for s in self.specs)
        if total != self.embed_dim:
            raise ConversionError(f"option {option}={texts}: branch widths add up to {total}, not the "
                                  f"{side} embedding dimension {self.embed_dim}")
        kinds = {s.kind for s in self.specs if not s.is_attention}
        self.has_conv = bool(kinds)
        authors_glu = opts.flag(f"{side}_glu")
        # the authors' lightweight convolution never has a GLU; their dynamic one follows --{side}-glu
        if kinds == {"lightweight", "dynamic"} and authors_glu:
            raise ConversionError(
                f"option {side}_glu=True with both lightweight and dynamic branches ({texts}): the authors apply "
                "the GLU to the dynamic branches only, lite_transformer applies one GLU setting to every "
                f"convolution branch of the {side}; this mix cannot be represented")
        self.glu = authors_glu and kinds == {"dynamic"}
        if side == "encoder":
            for spec in self.specs:
                if spec.is_attention:
                    continue
                even = [k for k in ([spec.kernel_size] if spec.kernel_size else self.kernel_sizes) if k % 2 == 0]
                if even:
                    raise ConversionError(
                        f"encoder kernel size {even[0]} (option {option} / encoder_kernel_size_list) is even: the "
                        "authors pad even encoder kernels with a (left, right) pair that their own PyTorch "
                        "convolution cannot apply, so their model's output for it is not defined here")

    def options(self) -> List[str]:
        s = self.side
        return ([f"--{s}-branch-type"] + [str(spec) for spec in self.specs]
                + [f"--{s}-kernel-size-list"] + [str(k) for k in self.kernel_sizes]
                + [f"--{s}-glu", str(self.glu)])


def check_representable(opts: AuthorsOptions, encoder: SideSettings, decoder: SideSettings) -> None:
    if opts.get("adaptive_softmax_cutoff") is not None:
        raise ConversionError(f"option adaptive_softmax_cutoff={opts.get('adaptive_softmax_cutoff')!r}: "
                              "lite_transformer has no adaptive softmax")
    if (encoder.has_conv or decoder.has_conv) and not opts.flag("conv_linear"):
        raise ConversionError("option conv_linear=False: the authors' convolution branches then have no input "
                              "and output projections (linear1/linear2); lite_transformer's always have them")
    for side in ("encoder", "decoder"):
        name = f"{side}_ffn_list"
        entries = opts.get(name)
        entries = entries if isinstance(entries, (list, tuple)) else [entries]
        if any(not _truth(e, name) for e in entries):
            raise ConversionError(f"option {name}={list(entries)} switches the feed-forward block off in some "
                                  "layers; lite_transformer has one in every layer")
    for name in ("project_embed", "project_hidden"):
        if getattr(opts.args, name, None) not in (None, False, 0):
            raise ConversionError(f"option {name}={getattr(opts.args, name)!r}: projected input embeddings "
                                  "(input_transform) cannot be represented by lite_transformer")
    if opts.flag("decoder_normalize_before") and _truth(getattr(opts.args, "no_decoder_final_norm", False),
                                                          "no_decoder_final_norm"):
        raise ConversionError("option no_decoder_final_norm=True: lite_transformer's pre-norm decoder always ends "
                              "with a layer norm")
    if opts.flag("share_all_embeddings") and encoder.embed_dim != decoder.embed_dim:
        raise ConversionError("option share_all_embeddings=True with different encoder/decoder embedding "
                              "dimensions")


def lite_transformer_options(opts: AuthorsOptions) -> Tuple[List[str], SideSettings, SideSettings]:
    """The lite_transformer command-line options equivalent to the authors' args."""
    encoder, decoder = SideSettings(opts, "encoder"), SideSettings(opts, "decoder")
    check_representable(opts, encoder, decoder)
    activation_dropout = opts.get("activation_dropout")
    if not activation_dropout:
        activation_dropout = getattr(opts.args, "relu_dropout", 0.0) or 0.0
    out = ["--arch", "lite_transformer"]
    for side, settings in (("encoder", encoder), ("decoder", decoder)):
        out += [f"--{side}-embed-dim", str(settings.embed_dim),
                f"--{side}-ffn-embed-dim", str(int(opts.get(f"{side}_ffn_embed_dim"))),
                f"--{side}-layers", str(settings.layers),
                f"--{side}-normalize-before", str(opts.flag(f"{side}_normalize_before")),
                f"--{side}-learned-pos", str(opts.flag(f"{side}_learned_pos"))]
        out += settings.options()
    out += ["--decoder-attention-heads", str(int(opts.get("decoder_attention_heads"))),
            "--activation-fn", str(opts.get("activation_fn")),
            "--dropout", repr(float(opts.get("dropout"))),
            "--attention-dropout", repr(float(opts.get("attention_dropout"))),
            "--activation-dropout", repr(float(activation_dropout)),
            "--weight-dropout", repr(float(opts.get("weight_dropout"))),
            "--weight-softmax", str(opts.flag("weight_softmax")),
            "--share-all-embeddings", str(opts.flag("share_all_embeddings")),
            "--share-decoder-input-output-embed", str(opts.flag("share_decoder_input_output_embed")),
            "--no-token-positional-embeddings", str(opts.flag("no_token_positional_embeddings")),
            "--conv-mask-before-linear", "True",
            "--max-source-positions", str(int(opts.get("max_source_positions"))),
            "--max-target-positions", str(int(opts.get("max_target_positions")))]
    return out, encoder, decoder

