"""Fairseq dataclass configs of ``lite_transformer`` and ``lite_transformer_lm``, for ``fairseq-hydra-train``.

The fields are made from the models' command-line options (:func:`.lite_transformer_options.add_lite_transformer_args`
and :func:`.lite_transformer_lm_options.add_lite_transformer_lm_args`), so the two cannot drift apart: one field per
option (named as the option's ``dest``), the option's help as the field's help, and ``None`` as every default, so
that the architecture functions (the presets) still decide what the user left out. Types: ``--flag [BOOL]`` options
are ``Optional[bool]``, numbers ``Optional[int]``/``Optional[float]``, multi-word options (branch types, kernel size
lists) ``Optional[List[str]]`` (a YAML list ``[3, 7, 15]`` or ``[attn:1:248:4, dynamic:default:248:4]``), the rest
``Optional[str]``. An alias of an option (``--encoder-attention-heads`` for ``--encoder-attn-branch-heads``) is a
field too; :func:`resolve_aliases` moves its value to the option it stands for.

A few fields are not model options on the command line (:data:`NON_OPTION_FIELDS`): the positions, which fairseq
takes from the task, and ``cpu_int8``, a ``--model-overrides`` switch of fairseq-generate.

:func:`checked_config` is what the models' ``build_model`` calls first: a key that is no field (a typo such as
``encoder_kernal_size_list``) or a value of the wrong type is refused with a message naming it.
"""

import argparse
import dataclasses
import difflib
from typing import Any, Dict, List, Optional, Tuple

from fairseq.dataclass import FairseqDataclass
from omegaconf import OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from .lite_transformer_lm_options import add_lite_transformer_lm_args
from .lite_transformer_options import add_lite_transformer_args, bool_option

OPTIONS_COMMAND = "lite-fairseq-options"

NON_OPTION_FIELDS = {
    "max_source_positions": (Optional[int], "maximum source length (default: the task's --max-source-positions)"),
    "max_target_positions": (Optional[int], "maximum target length (default: the task's --max-target-positions, "
                                            "for a language model its --tokens-per-sample)"),
    "tokens_per_sample": (Optional[int], "language model block length (default: the task's --tokens-per-sample)"),
    # Any: True/False, or the name of the int8 implementation ("torch.ao", "torchao"; checked by the model)
    "cpu_int8": (Any, "fairseq-generate --model-overrides \"{'cpu_int8': True}\" (or 'torchao'): dynamically "
                      "quantised int8 linear layers on the CPU"),
}


class ModelConfigError(ValueError):
    """A model config key that is not an option, or a value of the wrong type; the message names it."""


class _RecordingParser(argparse.ArgumentParser):
    """An argument parser that keeps the actions its ``add_argument`` calls return, in order."""

    def __init__(self):
        super().__init__(add_help=False, argument_default=argparse.SUPPRESS, allow_abbrev=False)
        self.recorded: List[argparse.Action] = []

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        self.recorded.append(action)
        return action


def option_actions(add_args) -> List[argparse.Action]:
    """The argparse actions ``add_args(parser)`` defines, in definition order."""
    parser = _RecordingParser()
    add_args(parser)
    return parser.recorded


def option_name(flag: str) -> str:
    """``--encoder-attention-heads`` -> ``encoder_attention_heads``."""
    return flag.lstrip("-").replace("-", "_")


def field_type(action: argparse.Action):
    if action.nargs in ("+", "*"):
        return Optional[List[str]]
    if action.type is bool_option:
        return Optional[bool]
    if action.type in (int, float):
        return Optional[action.type]
    return Optional[str]


def aliases_of(actions) -> Dict[str, str]:
    """``{alias field: option field}`` for every option string that differs from its option's ``dest``."""
    aliases = {}
    for action in actions:
        for flag in action.option_strings:
            if option_name(flag) != action.dest:
                aliases[option_name(flag)] = action.dest
    return aliases


def _make_config(class_name: str, model_name: str, add_args):
    actions = option_actions(add_args)
    fields: List[Tuple] = []
    seen = set()
    for action in actions:  # one field per dest (two options may share one: the LM's --decoder-attention-heads)
        if action.dest not in seen:
            seen.add(action.dest)
            fields.append((action.dest, field_type(action),
                           dataclasses.field(default=None, metadata={"help": action.help})))
    for alias, target in aliases_of(actions).items():
        action = next(a for a in actions if a.dest == target)
        fields.append((alias, field_type(action),
                       dataclasses.field(default=None, metadata={"help": f"alias of {target}"})))
    for name, (type_, help_) in NON_OPTION_FIELDS.items():
        default = False if type_ is bool else None
        fields.append((name, type_, dataclasses.field(default=default, metadata={"help": help_})))
    cls = dataclasses.make_dataclass(class_name, fields, bases=(FairseqDataclass,))
    cls.__module__ = __name__
    cls.__doc__ = (f"Options of the ``{model_name}`` model as a fairseq dataclass config (``model:`` of a "
                   f"fairseq-hydra-train config); ``{OPTIONS_COMMAND} --arch ARCH`` lists them with their defaults.")
    return cls


LiteTransformerConfig = _make_config("LiteTransformerConfig", "lite_transformer", add_lite_transformer_args)
LiteTransformerLMConfig = _make_config("LiteTransformerLMConfig", "lite_transformer_lm",
                                       add_lite_transformer_lm_args)

ALIASES = {
    "lite_transformer": aliases_of(option_actions(add_lite_transformer_args)),
    "lite_transformer_lm": aliases_of(option_actions(add_lite_transformer_lm_args)),
}


def resolve_aliases(args, model_name: str) -> None:
    """Move the value of an alias field (``encoder_attention_heads``) to the option it stands for; refuse two
    different values for the same option."""
    for alias, target in ALIASES[model_name].items():
        value = getattr(args, alias, None)
        if value is None:
            continue
        current = getattr(args, target, None)
        if current is not None and current != value:
            raise ModelConfigError(f"{alias}={value} and {target}={current} set the same option ({alias} is an "
                                   f"alias of {target}); give only one of them")
        setattr(args, target, value)
        setattr(args, alias, None)


def _unknown_key_message(key: str, known, model_name: str) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (f"model.{key} is not an option of {model_name}{hint}; `{OPTIONS_COMMAND} --arch {model_name}` lists "
            "every option with its help and default")


def checked_config(cfg, config_class, model_name: str):
    """Check a model config against ``config_class`` before any weight is built.

    ``cfg`` may be an argparse Namespace or dataclass instance (returned as is: argparse already refused unknown
    options) or an OmegaConf config (fairseq-hydra-train, or a checkpoint's ``cfg.model``): a key that is no field
    or a value of the wrong type raises :class:`ModelConfigError` naming it. The fields ``cfg`` lacks are added to
    it in place with their defaults (so a checkpoint's config lists every option, and ``--model-overrides`` can
    reach each one), and the typed config is returned.
    """
    if not OmegaConf.is_config(cfg):
        return cfg
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = [k for k in cfg.keys() if k not in known]
    if unknown:
        raise ModelConfigError("; ".join(_unknown_key_message(k, known, model_name) for k in unknown))
    with open_dict(cfg):
        for f in dataclasses.fields(config_class):
            if f.name not in cfg:
                cfg[f.name] = f.default
    try:
        typed = OmegaConf.merge(OmegaConf.structured(config_class), OmegaConf.to_container(cfg, resolve=True))
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or getattr(err, "key", None) or "a model option"
        raise ModelConfigError(f"model.{key}: {err.msg if hasattr(err, 'msg') else err}".splitlines()[0]) from None
    return typed
