"""Build any registered fairseq model without a data directory: the one helper the profiler, the checkpoint
converter, the benchmarks and the tests use.

fairseq builds a model from parsed options and a task that holds the dictionaries. Here the options are parsed the
way ``fairseq-train --arch ARCH`` parses them (the model's own options with no defaults, then the architecture
function fills in the rest), and the task is a :class:`StandaloneTask` holding placeholder dictionaries of the
wanted sizes (:func:`placeholder_dictionary`). Nothing about a model except its embedding tables depends on the
dictionaries' contents.

    from lite_fairseq.models.standalone import build_model
    model = build_model("lite_transformer_iwslt_de_en_160", ["--dropout", "0.2"], src_vocab=8000)

Errors: an unknown architecture or option, or vocabulary sizes that do not fit the model, raise
:class:`ModelOptionError` naming what is wrong; a malformed option value raises the parser's own
``argparse.ArgumentError`` (e.g. ``argument --encoder-glu: expected a boolean``), as fairseq-train reports it; the
model's own checks (e.g. branch widths that do not add up) raise from its ``build_model`` unchanged.
"""

import argparse
import dataclasses
import difflib
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from fairseq.data import Dictionary
from fairseq.models import (
    ARCH_CONFIG_REGISTRY,
    ARCH_MODEL_REGISTRY,
    BaseFairseqModel,
    FairseqEncoderDecoderModel,
    FairseqLanguageModel,
)

TRANSLATION = "translation"
LANGUAGE_MODELING = "language_modeling"
DEFAULT_VOCAB = 10000
"""Vocabulary size used when none is given."""


class ModelOptionError(ValueError):
    """An unknown architecture or option, or a vocabulary that does not fit; the message names it."""


def architectures() -> List[str]:
    """Every architecture name registered with fairseq (ours included, once :mod:`lite_fairseq` is imported)."""
    return sorted(ARCH_MODEL_REGISTRY)


def check_arch(arch: str) -> None:
    if arch not in ARCH_MODEL_REGISTRY:
        close = difflib.get_close_matches(arch, architectures(), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ModelOptionError(f"--arch: unknown architecture {arch!r}{hint}")


def model_kind(arch: str) -> str:
    """:data:`TRANSLATION` for an encoder-decoder model, :data:`LANGUAGE_MODELING` for a decoder-only one."""
    check_arch(arch)
    model_cls = ARCH_MODEL_REGISTRY[arch]
    if issubclass(model_cls, FairseqEncoderDecoderModel):
        return TRANSLATION
    if issubclass(model_cls, FairseqLanguageModel):
        return LANGUAGE_MODELING
    raise ModelOptionError(f"--arch {arch}: {model_cls.__name__} is neither an encoder-decoder model nor a "
                           "decoder-only language model")


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print and exit; callers get one clear exception instead
        raise ModelOptionError(message)


def _options_from_dataclass_only(model_cls) -> bool:
    """True for a model whose options come from its dataclass alone (fairseq's transformer_lm); False for one with
    its own add_args (lite_transformer: add_args and the architecture give every option, as in fairseq-train)."""
    return getattr(model_cls.add_args, "__func__", None) is BaseFairseqModel.add_args.__func__


def parse_model_args(arch: str, overrides: Sequence[str] = ()) -> argparse.Namespace:
    """The model options of ``arch`` as fairseq-train would parse them, with ``overrides`` (command-line words,
    e.g. ``["--encoder-embed-dim", "256", "--dropout", "0.2"]``) applied before the architecture's defaults.

    Options the architecture does not set keep the model's dataclass defaults (for dataclass-based models such as
    fairseq's ``transformer_lm``); options whose default is interpolated from the task config (``${task...}``) stay
    unset, so the model falls back to its own default.
    """
    check_arch(arch)
    model_cls = ARCH_MODEL_REGISTRY[arch]
    parser = _RaisingParser(prog=f"model options of {arch}", argument_default=argparse.SUPPRESS,
                            add_help=False, allow_abbrev=False, exit_on_error=False)
    model_cls.add_args(parser)
    args, unknown = parser.parse_known_args(list(overrides))
    if unknown:
        flags = [w for w in unknown if w.startswith("-")]
        what = f"unknown option(s) {' '.join(flags)}" if flags else f"unexpected value(s) {' '.join(unknown)}"
        raise ModelOptionError(f"model options of --arch {arch}: {what} (not an option of {model_cls.__name__}; "
                               f"`fairseq-train --arch {arch} --help` lists them)")
    args.arch = arch
    ARCH_CONFIG_REGISTRY[arch](args)
    config_class = getattr(model_cls, "__dataclass", None)
    if config_class is not None and _options_from_dataclass_only(model_cls):
        for field in dataclasses.fields(config_class):
            if hasattr(args, field.name):
                continue
            if field.default is not dataclasses.MISSING:
                value = field.default
            elif field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                value = field.default_factory()  # type: ignore[misc]
            else:
                value = None
            if isinstance(value, str) and value.startswith("${"):
                continue  # interpolated from the task (e.g. max_target_positions): the model's own fallback
            setattr(args, field.name, value)
    return args


def placeholder_dictionary(size: int) -> Dictionary:
    """A fairseq dictionary of exactly ``size`` symbols: fairseq's specials, then ``w0``, ``w1``, ..."""
    d = Dictionary()
    if not isinstance(size, int) or size <= d.nspecial:
        raise ModelOptionError(f"vocabulary size {size!r}: a dictionary needs more than fairseq's {d.nspecial} "
                               "special symbols")
    for i in range(size - d.nspecial):
        d.add_symbol(f"w{i}")
    return d


class StandaloneTask:
    """What a model's ``build_model`` reads from a fairseq task: its dictionaries. With one dictionary (a joined
    one, or a language model's) source and target are the same."""

    def __init__(self, src_dict: Dictionary, tgt_dict: Optional[Dictionary] = None):
        self.source_dictionary = src_dict
        self.target_dictionary = tgt_dict if tgt_dict is not None else src_dict
        self.dictionary = self.target_dictionary


@dataclass
class BuiltModel:
    model: torch.nn.Module
    arch: str
    task: str  # TRANSLATION or LANGUAGE_MODELING
    src_dict: Optional[Dictionary]  # None for a language model
    tgt_dict: Dictionary
    args: argparse.Namespace


def _dictionaries(arch: str, kind: str, args: argparse.Namespace, src_vocab: Optional[int],
                  tgt_vocab: Optional[int]) -> StandaloneTask:
    if kind == LANGUAGE_MODELING:
        if src_vocab is not None:
            raise ModelOptionError(f"src_vocab: --arch {arch} is a decoder-only language model; give its "
                                   "vocabulary size as tgt_vocab")
        return StandaloneTask(placeholder_dictionary(tgt_vocab or DEFAULT_VOCAB))
    src_size = src_vocab or DEFAULT_VOCAB
    tgt_size = tgt_vocab or src_size
    if getattr(args, "share_all_embeddings", False) and src_size != tgt_size:
        raise ModelOptionError(f"source vocabulary {src_size} and target vocabulary {tgt_size} differ, but --arch "
                               f"{arch} shares all embeddings, which needs one joined dictionary: give equal sizes")
    src_dict = placeholder_dictionary(src_size)
    return StandaloneTask(src_dict, src_dict if tgt_size == src_size else placeholder_dictionary(tgt_size))


def build(arch: str, overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
          tgt_vocab: Optional[int] = None, task: Optional[StandaloneTask] = None,
          seed: Optional[int] = None) -> BuiltModel:
    """Build ``arch`` with ``overrides`` (see :func:`parse_model_args`), in training mode on the CPU, together with
    what it was built from.

    Dictionaries: ``task`` when given (then no vocabulary sizes), otherwise placeholder dictionaries of
    ``src_vocab``/``tgt_vocab`` symbols (default :data:`DEFAULT_VOCAB`; the target size defaults to the source
    size, and equal sizes share one dictionary). A language model has only ``tgt_vocab``. ``seed`` seeds torch's
    generator before the weights are drawn."""
    kind = model_kind(arch)
    args = parse_model_args(arch, overrides)
    if task is None:
        task = _dictionaries(arch, kind, args, src_vocab, tgt_vocab)
    elif src_vocab is not None or tgt_vocab is not None:
        raise ModelOptionError("give either a task with dictionaries or vocabulary sizes, not both")
    if seed is not None:
        torch.manual_seed(seed)
    model = ARCH_MODEL_REGISTRY[arch].build_model(args, task)
    src_dict = None if kind == LANGUAGE_MODELING else task.source_dictionary
    return BuiltModel(model=model, arch=arch, task=kind, src_dict=src_dict, tgt_dict=task.target_dictionary,
                      args=args)


def build_model(arch: str, overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
                tgt_vocab: Optional[int] = None, task: Optional[StandaloneTask] = None,
                seed: Optional[int] = None) -> torch.nn.Module:
    """Just the model of :func:`build`."""
    return build(arch, overrides, src_vocab, tgt_vocab, task, seed).model


__all__ = ["TRANSLATION", "LANGUAGE_MODELING", "DEFAULT_VOCAB", "ModelOptionError", "BuiltModel", "StandaloneTask",
           "architectures", "check_arch", "model_kind", "parse_model_args", "placeholder_dictionary", "build",
           "build_model"]
