"""Convert a checkpoint of the authors' ``transformer_multibranch_v2`` model into a ``lite_transformer`` one.

The authors' repository (mit-han-lab/lite-transformer, a fork of an old fairseq) saves checkpoints as
``{"args": argparse.Namespace, "model": state_dict, "optimizer_history": ..., "extra_state": ...}``. This module
reads such a file, translates its options into ``lite_transformer`` command-line options (the branch-type format
``attn:1:248:4`` / ``dynamic:default:248:4`` is the same on both sides), renames the parameters, checks that every
tensor found a place and every place got a tensor, and writes a checkpoint in the layout current fairseq writes
(``cfg`` with the model options as a Namespace), which ``fairseq-generate --user-dir lite_fairseq`` loads.

Usage::

    lite-fairseq-convert authors_checkpoint.pt converted.pt       # or: python -m lite_fairseq.convert_authors_checkpoint
    lite-fairseq-convert authors_checkpoint.pt --print-options    # only show the equivalent options

What the converted model computes: the same outputs as the authors' model (tested end to end on unpadded inputs).
Padded batches: the authors zero padded positions *before* the convolution branch's input projection
(``linear1``), so a padded position enters the convolution as ``linear1``'s bias (after GLU), whereas
``lite_transformer`` by default zeroes it *after* ``linear1`` (exact zeros, so padding never changes real
positions). The converted checkpoint sets ``--conv-mask-before-linear True``, which reproduces the authors'
behaviour (tested at the branch level), so left-padded source batches translate as in their code.

Refused, with a message naming the option or parameter: options the ``lite_transformer`` model cannot represent
(``--conv-linear`` off, adaptive softmax, ``False`` entries in ``--encoder-ffn-list``/``--decoder-ffn-list``,
projected input embeddings, a GLU setting that would apply to dynamic but not to lightweight branches of the same
side, even encoder kernel sizes, convolution biases) and any parameter that maps to nothing.
"""

import argparse
import re
import sys
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch

AUTHORS_MODEL = "transformer_multibranch_v2"

# The authors' architecture defaults (their model file's register_model_architecture functions), used only for
# options a checkpoint's args lack; args saved by their trainer normally carry every one of them.
_BASE_DEFAULTS = {
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
_ARCH_DEFAULTS = {
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

PADDING_NOTE = ("padded positions: the authors mask them before the convolution branch's linear1 (they enter the "
                "convolution as linear1's bias); the converted checkpoint keeps that with --conv-mask-before-linear "
                "True (lite_transformer's default masks after linear1, so padding never changes real positions)")


class ConversionError(ValueError):
    """The checkpoint cannot be converted; the message names the option, parameter or file at fault."""


# ----------------------------------------------------------------------------------------------------------------
# options


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
                                  f"its named architectures: {', '.join(sorted(_ARCH_DEFAULTS))})")
        self.arch = arch
        self.arch_defaults = _ARCH_DEFAULTS.get(arch, {})

    def get(self, name: str):
        if hasattr(self.args, name):
            return getattr(self.args, name)
        if name in self.arch_defaults:
            return self.arch_defaults[name]
        derived = {"decoder_embed_dim": "encoder_embed_dim", "decoder_ffn_embed_dim": "encoder_ffn_embed_dim",
                   "weight_dropout": "attention_dropout"}
        if name in derived:
            return self.get(derived[name])
        if name in _BASE_DEFAULTS:
            return _BASE_DEFAULTS[name]
        raise ConversionError(f"the checkpoint's args lack {name!r} and arch {self.arch!r} has no default for it")

    def flag(self, name: str) -> bool:
        return _truth(self.get(name), name)


def _string_list(value, name: str) -> Optional[List[str]]:
    from lite_fairseq.modules.branch_spec import split_list_argument

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
        from lite_fairseq.modules.branch_spec import BranchSpecError, parse_branch_spec

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


# ----------------------------------------------------------------------------------------------------------------
# parameters

_LAYER_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")
_ATTN_PARAMS = ("q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
                "out_proj.weight", "out_proj.bias")
_LAYER_RENAMES = {
    "self_attn_layer_norm": "self_attn_residual.layer_norm",
    "encoder_attn_layer_norm": "encoder_attn_residual.layer_norm",
    "final_layer_norm": "ffn_residual.layer_norm",
    "fc1": "ffn.fc1",
    "fc2": "ffn.fc2",
}
# the oldest fairseq layer-norm names (the authors' upgrade_state_dict_named renames them the same way)
_OLD_LAYER_NORMS = {"encoder": {"0": "self_attn_layer_norm", "1": "final_layer_norm"},
                    "decoder": {"0": "self_attn_layer_norm", "1": "encoder_attn_layer_norm",
                                "2": "final_layer_norm"}}


def _split_in_proj(prefix: str, suffix: str, tensor: torch.Tensor, out: Dict[str, torch.Tensor]) -> None:
    """Old fairseq attention stored q, k and v stacked in in_proj_weight / in_proj_bias."""
    if tensor.shape[0] % 3 != 0:
        raise ConversionError(f"{prefix}.in_proj_{suffix} has {tensor.shape[0]} rows, not a multiple of 3")
    for name, part in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0)):
        out[f"{prefix}.{name}.{suffix}"] = part


def _map_attention(dst_prefix: str, rest: str, tensor, out) -> bool:
    if rest in _ATTN_PARAMS:
        out[f"{dst_prefix}.{rest}"] = tensor
        return True
    if rest in ("in_proj_weight", "in_proj_bias"):
        _split_in_proj(dst_prefix, rest.split("_")[-1], tensor, out)
        return True
    return False


def _map_conv(src_key: str, dst_prefix: str, rest: str, tensor, spec, out) -> bool:
    if rest in ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"):
        out[f"{dst_prefix}.{rest}"] = tensor
        return True
    if spec.kind == "dynamic" and rest == "weight_linear.weight":
        out[f"{dst_prefix}.conv.weight_linear.weight"] = tensor
        return True
    if spec.kind == "lightweight" and rest == "weight":
        if tensor.dim() == 3 and tensor.shape[1] == 1:  # LightweightConv1dTBC: (H, 1, K); the CUDA layer: (H, K)
            tensor = tensor.reshape(tensor.shape[0], tensor.shape[2])
        out[f"{dst_prefix}.conv.weight"] = tensor
        return True
    if rest in ("bias", "conv_bias", "weight_linear.bias"):
        raise ConversionError(f"parameter {src_key}: a convolution bias, which lite_transformer's convolution "
                              "branch does not have")
    return False


def map_state_dict(state: Dict[str, torch.Tensor], encoder: SideSettings, decoder: SideSettings,
                   opts: AuthorsOptions) -> Dict[str, torch.Tensor]:
    """Rename the authors' parameters to lite_transformer's; raise on any parameter that maps to nothing."""
    sides = {"encoder": encoder, "decoder": decoder}
    out: Dict[str, torch.Tensor] = {}
    leftover: List[str] = []
    for key, tensor in state.items():
        if not torch.is_tensor(tensor):
            raise ConversionError(f"model entry {key!r} is a {type(tensor).__name__}, not a tensor")
        match = _LAYER_KEY.match(key)
        if match:
            side, index, rest = match.group(1), int(match.group(2)), match.group(3)
            settings = sides[side]
            if index >= settings.layers:
                leftover.append(key)
                continue
            layer = f"{side}.layers.{index}"
            old = re.match(r"^layer_norms\.(\d+)\.(weight|bias)$", rest)
            if old and old.group(1) in _OLD_LAYER_NORMS[side]:
                rest = f"{_OLD_LAYER_NORMS[side][old.group(1)]}.{old.group(2)}"
            head, _, tail = rest.partition(".")
            if head in _LAYER_RENAMES and tail in ("weight", "bias"):
                out[f"{layer}.{_LAYER_RENAMES[head]}.{tail}"] = tensor
                continue
            if head == "encoder_attn" and side == "decoder":
                if _map_attention(f"{layer}.encoder_attn", tail, tensor, out):
                    continue
            if head == "self_attn":
                if settings.plain_attention:
                    if _map_attention(f"{layer}.self_attn.branches.0", tail, tensor, out):
                        continue
                branch = re.match(r"^branches\.(\d+)\.(.+)$", tail)
                if branch and int(branch.group(1)) < len(settings.specs):
                    j, inner = int(branch.group(1)), branch.group(2)
                    spec = settings.specs[j]
                    dst = f"{layer}.self_attn.branches.{j}"
                    if spec.is_attention and _map_attention(dst, inner, tensor, out):
                        continue
                    if not spec.is_attention and _map_conv(key, dst, inner, tensor, spec, out):
                        continue
            leftover.append(key)
            continue
        side, _, rest = key.partition(".")
        if side not in sides:
            leftover.append(key)
        elif rest == "embed_tokens.weight" or rest in ("layer_norm.weight", "layer_norm.bias"):
            out[key] = tensor
        elif rest == "embed_positions.weight" and opts.flag(f"{side}_learned_pos"):
            out[key] = tensor
        elif rest in ("embed_positions._float_tensor", "embed_positions.weights"):
            pass  # sinusoidal tables are recomputed; the model provides its own buffer
        elif rest == "version":
            _check_version(side, tensor, opts)
        elif side == "decoder" and rest == "embed_out":
            out["decoder.output_projection.weight"] = tensor
        else:
            leftover.append(key)
    if leftover:
        shown = ", ".join(leftover[:8]) + (f" and {len(leftover) - 8} more" if len(leftover) > 8 else "")
        raise ConversionError(f"parameters of the authors' checkpoint with no counterpart in lite_transformer: "
                              f"{shown}. The model uses a feature this converter cannot represent (e.g. projected "
                              "input embeddings, adaptive softmax, an output projection of a different width) or "
                              "does not match its args")
    return out


def _check_version(side: str, tensor: torch.Tensor, opts: AuthorsOptions) -> None:
    """The authors' model drops the final pre-norm layer norm of checkpoints with an old version buffer."""
    version = float(tensor.reshape(-1)[0]) if tensor.numel() else 1.0
    too_old = version < 2 if side == "encoder" else version <= 2
    if too_old and opts.flag(f"{side}_normalize_before"):
        raise ConversionError(f"{side}.version={version:g} with {side}_normalize_before=True: the authors' model "
                              f"then skips the {side}'s final layer norm, which lite_transformer always applies")


# ----------------------------------------------------------------------------------------------------------------
# building, checking and saving


class _Task:
    def __init__(self, source_dictionary, target_dictionary):
        self.source_dictionary = source_dictionary
        self.target_dictionary = target_dictionary


def _placeholder_dictionary(size: int):
    from fairseq.data import Dictionary

    d = Dictionary()
    i = 0
    while len(d) < size:
        d.add_symbol(f"__converted_{i}__")
        i += 1
    if len(d) != size:
        raise ConversionError(f"vocabulary size {size} is smaller than fairseq's {len(d)} special symbols")
    return d


def _vocab_size(state, key: str) -> int:
    if key not in state:
        raise ConversionError(f"the authors' checkpoint has no {key!r}")
    return int(state[key].shape[0])


def build_training_namespace(opts: AuthorsOptions, model_options: Sequence[str]) -> argparse.Namespace:
    """All of fairseq-train's options for the converted model, as a command line would give them."""
    from fairseq import options
    from fairseq.tasks import TASK_REGISTRY

    task = getattr(opts.args, "task", "translation")
    if task not in TASK_REGISTRY:
        task = "translation"
    data = getattr(opts.args, "data", None)
    if isinstance(data, (list, tuple)):
        data = data[0] if data else None
    cli = [str(data or "data-bin"), "--task", task] + list(model_options)
    for ours, theirs in (("--source-lang", "source_lang"), ("--target-lang", "target_lang")):
        if getattr(opts.args, theirs, None):
            cli += [ours, str(getattr(opts.args, theirs))]
    parser = options.get_training_parser()
    try:
        return options.parse_args_and_arch(parser, input_args=cli)
    except SystemExit:
        raise ConversionError(f"fairseq rejected the translated options: {' '.join(cli)}") from None


def convert_state(authors_state: dict) -> Tuple[dict, List[str]]:
    """Convert a loaded authors' checkpoint; returns (our checkpoint state, the model's command-line options)."""
    import lite_fairseq  # noqa: F401  (registers lite_transformer)
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    from lite_fairseq.models import LiteTransformerModel

    if not isinstance(authors_state, dict) or "model" not in authors_state:
        raise ConversionError("not a fairseq checkpoint: expected a dict with a 'model' state dict")
    args = authors_state.get("args")
    if args is None and isinstance(authors_state.get("cfg"), dict):
        args = authors_state["cfg"].get("model")
    if not isinstance(args, argparse.Namespace):
        raise ConversionError("the checkpoint carries no argparse.Namespace 'args' (or cfg['model']) describing "
                              "the authors' model")
    opts = AuthorsOptions(args)
    model_options, encoder, decoder = lite_transformer_options(opts)
    mapped = map_state_dict(authors_state["model"], encoder, decoder, opts)

    train_args = build_training_namespace(opts, model_options)
    src_dict = _placeholder_dictionary(_vocab_size(authors_state["model"], "encoder.embed_tokens.weight"))
    if train_args.share_all_embeddings:
        tgt_dict = src_dict
    else:
        tgt_dict = _placeholder_dictionary(_vocab_size(authors_state["model"], "decoder.embed_tokens.weight"))
    model = LiteTransformerModel.build_model(argparse.Namespace(**vars(train_args)), _Task(src_dict, tgt_dict))
    tied = (("decoder.embed_tokens.weight", "encoder.embed_tokens.weight", train_args.share_all_embeddings),
            ("decoder.output_projection.weight", "decoder.embed_tokens.weight",
             model.decoder.share_input_output_embed))
    for key, source, shared in tied:
        if shared and key not in mapped and source in mapped:
            mapped[key] = mapped[source]
    expected = model.state_dict()
    buffers = {name for name, _ in model.named_buffers()}
    missing = [k for k in expected if k not in mapped and k not in buffers]
    if missing:
        raise ConversionError("the authors' checkpoint lacks parameters the model described by its args needs "
                              f"(lite_transformer names): {', '.join(missing[:8])}"
                              + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""))
    for key, tensor in mapped.items():
        if key not in expected:
            raise ConversionError(f"internal error: converted parameter {key} does not exist in lite_transformer")
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ConversionError(f"parameter {key}: the checkpoint's tensor has shape {tuple(tensor.shape)}, the "
                                  f"model described by its args needs {tuple(expected[key].shape)}")
    full = dict(expected)
    full.update({k: v.to(expected[k].dtype) for k, v in mapped.items()})
    model.load_state_dict(full, strict=True)
    if model.decoder.share_input_output_embed:
        if not torch.equal(model.decoder.output_projection.weight, model.decoder.embed_tokens.weight):
            raise ConversionError("internal error: tied output projection differs from the embeddings")

    with warnings.catch_warnings():  # hydra's deprecation notices about fairseq's compose call
        warnings.simplefilter("ignore", UserWarning)
        cfg = convert_namespace_to_omegaconf(train_args)
    history = authors_state.get("optimizer_history") or [{}]
    last = history[-1] if isinstance(history[-1], dict) else {}
    state = {
        "args": None,
        "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "model": model.state_dict(),
        "criterion": None,
        # no optimizer state: the authors' parameter order differs; resume training with --reset-optimizer
        "optimizer_history": [{
            "criterion_name": str(last.get("criterion_name", "CrossEntropyCriterion")),
            "optimizer_name": str(last.get("optimizer_name", "FairseqAdam")),
            "lr_scheduler_state": {"best": _plain_number(last.get("lr_scheduler_state", {}).get("best")
                                                         if isinstance(last.get("lr_scheduler_state"), dict)
                                                         else None)},
            "num_updates": int(last.get("num_updates", 0) or 0),
        }],
        "task_state": {},
        "extra_state": {"converted_from": {"model": AUTHORS_MODEL, "arch": opts.arch,
                                           "note": PADDING_NOTE}},
    }
    return state, model_options


def _plain_number(value):
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def convert_file(src: str, dst: Optional[str]) -> List[str]:
    from lite_fairseq.checkpoint_safety import load_checkpoint

    authors_state = load_checkpoint(src)
    try:
        state, model_options = convert_state(authors_state)
    except ConversionError as e:
        raise ConversionError(f"{src}: {e}") from None
    if dst is not None:
        torch.save(state, dst)
    return model_options


def _shell_join(words: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(w) for w in words)


def cli_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lite-fairseq-convert",
        description="Convert a checkpoint of the authors' transformer_multibranch_v2 (mit-han-lab/lite-transformer) "
                    "into a lite_transformer checkpoint for fairseq-generate --user-dir lite_fairseq.")
    parser.add_argument("checkpoint", help="the authors' checkpoint (.pt)")
    parser.add_argument("output", nargs="?", help="where to write the converted checkpoint")
    parser.add_argument("--print-options", action="store_true",
                        help="print the equivalent lite_transformer command-line options")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    args = parser.parse_args(argv)
    import os

    if args.output is None and not args.print_options:
        parser.error("give OUTPUT, or --print-options to only show the equivalent options")
    if args.output is not None:
        if os.path.abspath(args.output) == os.path.abspath(args.checkpoint):
            parser.error("OUTPUT must differ from the input checkpoint")
        if os.path.exists(args.output) and not args.overwrite:
            parser.error(f"{args.output} exists; pass --overwrite to replace it")
    from lite_fairseq.checkpoint_safety import CheckpointLoadError

    try:
        model_options = convert_file(args.checkpoint, args.output)
    except (ConversionError, CheckpointLoadError, FileNotFoundError) as e:
        print(f"lite-fairseq-convert: error: {e}", file=sys.stderr)
        return 2
    if args.print_options:
        print(_shell_join(model_options))
    if args.output is not None:
        print(f"wrote {args.output} (lite_transformer); note: {PADDING_NOTE}", file=sys.stderr)
    return 0


def console_main() -> None:
    """Entry point of the ``lite-fairseq-convert`` console script."""
    sys.exit(cli_main())


if __name__ == "__main__":
    console_main()
