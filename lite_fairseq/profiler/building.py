"""Build any registered fairseq architecture for profiling from an architecture name and command-line style
overrides (:mod:`lite_fairseq.models.standalone` does the building).

No data directory is needed: vocabulary sizes are given as numbers (or read from the ``dict.*.txt`` files of a
fairseq data-bin directory) and dictionaries of that size are made up. Every mistake a user can make here raises
:class:`ProfilerError` with a message naming the option at fault.
"""

import argparse
import os
import re
from typing import Optional, Sequence, Tuple

from fairseq.data import Dictionary

from lite_fairseq.models import standalone
from lite_fairseq.models.standalone import DEFAULT_VOCAB, LANGUAGE_MODELING, TRANSLATION, BuiltModel, architectures

__all__ = ["DEFAULT_VOCAB", "LANGUAGE_MODELING", "TRANSLATION", "BuiltModel", "ProfilerError", "architectures",
           "build", "infer_task", "vocab_from_data_dir"]


class ProfilerError(ValueError):
    """Bad input to the profiler; the message says which option is wrong and why."""


def infer_task(arch: str) -> str:
    """The task follows from the model class: encoder-decoder -> translation, decoder-only LM -> LM."""
    try:
        return standalone.model_kind(arch)
    except standalone.ModelOptionError as err:
        raise ProfilerError(f"{err} (--list-archs prints the registered architectures)") from None


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


def build(arch: str, overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
          tgt_vocab: Optional[int] = None, seed: int = 0) -> BuiltModel:
    """Build ``arch`` with ``overrides`` and made-up dictionaries of the given sizes (eval mode, CPU)."""
    task = infer_task(arch)
    if task == LANGUAGE_MODELING and src_vocab is not None:
        raise ProfilerError(f"--src-vocab: --arch {arch} is a decoder-only language model; give its "
                            "vocabulary with --tgt-vocab")
    try:
        built = standalone.build(arch, overrides, src_vocab=src_vocab, tgt_vocab=tgt_vocab, seed=seed)
    except standalone.ModelOptionError as err:
        raise ProfilerError(str(err)) from None
    except argparse.ArgumentError as err:
        raise ProfilerError(f"model override: {err}") from None
    except Exception as err:  # the model's own checks: any of them means these options cannot be profiled
        raise ProfilerError(f"--arch {arch}: cannot build the model with these options: "
                            f"{type(err).__name__}: {err}") from None
    built.model.eval()
    return built
