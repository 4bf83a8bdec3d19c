"""Build any registered fairseq architecture from an architecture name and command-line style overrides.

No data directory is needed: vocabulary sizes are given as numbers (or read from the ``dict.*.txt`` files of a
fairseq data-bin directory) and dictionaries of that size are made up. Every mistake a user can make here raises
:class:`ProfilerError` with a message naming the option at fault.
"""

import argparse
import dataclasses
import difflib
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from fairseq.data import Dictionary
from fairseq.models import (
    ARCH_CONFIG_REGISTRY,
    ARCH_MODEL_REGISTRY,
    FairseqEncoderDecoderModel,
    FairseqLanguageModel,
)

import lite_fairseq  # noqa: F401  (registers our models and architectures)

DEFAULT_VOCAB = 10000
"""Vocabulary size used when none is given. Mult-Adds and #Params without embeddings do not depend on it."""

TRANSLATION = "translation"
LANGUAGE_MODELING = "language_modeling"


class ProfilerError(ValueError):
    """Bad input to the profiler; the message says which option is wrong and why."""


@dataclass
class BuiltModel:
    model: torch.nn.Module
    arch: str
    task: str  # TRANSLATION or LANGUAGE_MODELING
    src_dict: Optional[Dictionary]
    tgt_dict: Dictionary
    args: argparse.Namespace


def architectures() -> List[str]:
    return sorted(ARCH_MODEL_REGISTRY)


def check_arch(arch: str) -> None:
    if arch not in ARCH_MODEL_REGISTRY:
        close = difflib.get_close_matches(arch, architectures(), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ProfilerError(f"--arch: unknown architecture {arch!r}{hint} (--list-archs prints them all)")


def infer_task(arch: str) -> str:
    """The task follows from the model class: encoder-decoder -> translation, decoder-only LM -> LM."""
    check_arch(arch)
    model_cls = ARCH_MODEL_REGISTRY[arch]
    if issubclass(model_cls, FairseqEncoderDecoderModel):
        return TRANSLATION
    if issubclass(model_cls, FairseqLanguageModel):
        return LANGUAGE_MODELING
    raise ProfilerError(f"--arch {arch}: {model_cls.__name__} is neither an encoder-decoder model nor a "
                        "decoder-only language model; the profiler handles only those two")


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print and exit; we want one clear exception instead
        raise ProfilerError(message)


def _dataclass_of(model_cls):
    return getattr(model_cls, "__dataclass", None)


def parse_model_args(arch: str, overrides: Sequence[str] = ()) -> argparse.Namespace:
    """Parse model overrides the way fairseq's command line does, then let the architecture fill the rest.

    ``overrides`` are command-line words, e.g. ``["--encoder-embed-dim", "256", "--dropout", "0.2"]``.
    Options the architecture does not set keep the model's dataclass defaults (for dataclass-based models such as
    fairseq's ``transformer_lm``); options whose default is interpolated from the task config (``${task...}``) stay
    unset, so the model falls back to its own default.
    """
    check_arch(arch)
    model_cls = ARCH_MODEL_REGISTRY[arch]
    parser = _RaisingParser(prog=f"model options of {arch}", argument_default=argparse.SUPPRESS,
                            add_help=False, allow_abbrev=False, exit_on_error=False)
    model_cls.add_args(parser)
    words = list(overrides)
    try:
        args, unknown = parser.parse_known_args(words)
    except argparse.ArgumentError as err:
        raise ProfilerError(f"model override: {err}") from None
    if unknown:
        flags = [w for w in unknown if w.startswith("-")]
        what = f"unknown option(s) {' '.join(flags)}" if flags else f"unexpected value(s) {' '.join(unknown)}"
        raise ProfilerError(f"model override for --arch {arch}: {what} (not an option of "
                            f"{model_cls.__name__}; `fairseq-train --arch {arch} --help` lists them)")
    args.arch = arch
    dc = _dataclass_of(model_cls)
    try:
        ARCH_CONFIG_REGISTRY[arch](args)
    except Exception as err:  # an architecture function rejecting a value
        raise ProfilerError(f"--arch {arch}: the overrides do not fit the architecture: {err}") from None
    if dc is not None:
        for field in dataclasses.fields(dc):
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


def make_dictionary(size: int, option: str) -> Dictionary:
    d = Dictionary()
    if size < d.nspecial + 1:
        raise ProfilerError(f"{option}: a vocabulary needs more than the {d.nspecial} special symbols, got {size}")
    for i in range(size - d.nspecial):
        d.add_symbol(f"w{i}")
    return d


_PAIR = re.compile(r"^(?:train|valid|test)[^.]*\.(?P<src>[^.-]+)-(?P<tgt>[^.-]+)\.(?P=src)\.(?:idx|bin)$")


def vocab_from_data_dir(data_dir: str, task: str, source_lang: Optional[str] = None,
                        target_lang: Optional[str] = None) -> Tuple[Optional[int], int]:
    """(source vocabulary size or None, target vocabulary size) read from ``dict.*.txt`` in ``data_dir``."""
    if not os.path.exists(data_dir):
        raise ProfilerError(f"--data: data directory {data_dir!r} does not exist")
    if not os.path.isdir(data_dir):
        raise ProfilerError(f"--data: {data_dir!r} is not a directory")
    files = sorted(f for f in os.listdir(data_dir) if f.startswith("dict.") and f.endswith(".txt"))
    if not files:
        raise ProfilerError(f"--data: no dict.*.txt file in {data_dir!r} (is it a fairseq-preprocess output?)")

    def size(name: str) -> int:
        path = os.path.join(data_dir, name)
        if not os.path.isfile(path):
            raise ProfilerError(f"--data: {path!r} not found (dictionaries there: {', '.join(files)})")
        try:
            return len(Dictionary.load(path))
        except Exception as err:
            raise ProfilerError(f"--data: cannot read dictionary {path!r}: {err}") from None

    if task == LANGUAGE_MODELING:
        if "dict.txt" in files:
            return None, size("dict.txt")
        if len(files) == 1:
            return None, size(files[0])
        raise ProfilerError(f"--data: a language model needs {data_dir}/dict.txt; found {', '.join(files)}")
    if source_lang is None or target_lang is None:
        pairs = {(m.group("src"), m.group("tgt")) for m in map(_PAIR.match, os.listdir(data_dir)) if m}
        if len(pairs) == 1:
            src, tgt = pairs.pop()
            source_lang, target_lang = source_lang or src, target_lang or tgt
        else:
            langs = [f[len("dict."):-len(".txt")] for f in files]
            raise ProfilerError(f"--data: cannot tell the language pair of {data_dir!r} (dictionaries for "
                                f"{', '.join(langs)}); pass --source-lang and --target-lang")
    return size(f"dict.{source_lang}.txt"), size(f"dict.{target_lang}.txt")


class _Task:
    """The two attributes ``build_model`` reads from a fairseq task."""

    def __init__(self, src_dict, tgt_dict):
        self.source_dictionary = src_dict
        self.target_dictionary = tgt_dict
        self.dictionary = tgt_dict


def build(arch: str, overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
          tgt_vocab: Optional[int] = None, seed: int = 0) -> BuiltModel:
    """Build ``arch`` with ``overrides`` and made-up dictionaries of the given sizes (eval mode, CPU)."""
    task = infer_task(arch)
    args = parse_model_args(arch, overrides)
    if task == LANGUAGE_MODELING:
        if src_vocab is not None:
            raise ProfilerError(f"--src-vocab: --arch {arch} is a decoder-only language model; give its "
                                "vocabulary with --tgt-vocab")
        tgt_dict = make_dictionary(tgt_vocab or DEFAULT_VOCAB, "--tgt-vocab")
        src_dict = None
    else:
        src_size = src_vocab or DEFAULT_VOCAB
        tgt_size = tgt_vocab or src_size
        if getattr(args, "share_all_embeddings", False) and src_size != tgt_size:
            raise ProfilerError(f"--src-vocab {src_size} and --tgt-vocab {tgt_size} differ, but --arch {arch} "
                                "shares all embeddings, which needs one joined dictionary: give equal sizes")
        src_dict = make_dictionary(src_size, "--src-vocab")
        tgt_dict = src_dict if tgt_size == src_size else make_dictionary(tgt_size, "--tgt-vocab")
    torch.manual_seed(seed)
    try:
        model = ARCH_MODEL_REGISTRY[arch].build_model(args, _Task(src_dict if src_dict is not None else tgt_dict,
                                                                  tgt_dict))
    except ProfilerError:
        raise
    except Exception as err:
        raise ProfilerError(f"--arch {arch}: cannot build the model with these options: "
                            f"{type(err).__name__}: {err}") from None
    model.eval()
    return BuiltModel(model=model, arch=arch, task=task, src_dict=src_dict, tgt_dict=tgt_dict, args=args)
