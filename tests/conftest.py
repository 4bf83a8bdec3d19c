"""Shared fixtures: a tiny quickstart corpus, binarised once per test session, and CLI helpers.

- ``tiny_corpus``: directory with raw/{train,valid,test}.{de,en}, tok/, bpe/ and the BPE codes.
- ``tiny_data_bin``: path (str) of the binarised tiny corpus (fairseq-preprocess, joined dictionary).
- ``run_cli``: run a fairseq command line (``run_cli("train", [...])`` runs ``python -m fairseq_cli.train``,
  the module behind the ``fairseq-train`` console script) with the repository importable.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# Kernel tests run Triton's CPU interpreter where there is no GPU. TRITON_INTERPRET must be set before Triton is
# first imported, so it is set here, at collection time, and only when no CUDA device exists (with one, the same
# tests run the compiled kernels on the GPU). This is the only conftest.py: test modules import helpers from it by
# name (``from conftest import ...``), which a second conftest.py would shadow.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the checkout's lite_fairseq, also when it is not pip-installed
USER_DIR = str(REPO / "lite_fairseq")
# The quickstart corpus generator is an example, not part of the plugin: examples/quickstart/corpus/. This is the
# one place that makes it importable for the tests (``import corpus``); its command line is QUICKSTART_CLI.
QUICKSTART = REPO / "examples" / "quickstart"
QUICKSTART_CLI = QUICKSTART / "corpus_cli.py"
if str(QUICKSTART) not in sys.path:
    sys.path.insert(0, str(QUICKSTART))

TINY_SIZES = {"train": 400, "valid": 40, "test": 20}
TINY_BPE_MERGES = 300


def cli_env():
    """Environment for subprocesses: the checkout importable, two threads, no stray user-dir state."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "2")
    env.setdefault("MKL_NUM_THREADS", "2")
    return env


def _console_script(name):
    """A console script of this interpreter's environment (e.g. subword-nmt), as a user would type it."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise RuntimeError(f"console script {name!r} not found next to {sys.executable}; install the project's "
                           "requirements into this environment")
    return str(path)


def run(cmd, *, cwd=None, stdin=None, timeout=300, check=True):
    """Run a command, return CompletedProcess with text stdout/stderr; on failure show the tail of both."""
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, env=cli_env(),
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout (tail) ---\n{proc.stdout[-3000:]}\n--- stderr (tail) ---\n{proc.stderr[-3000:]}")
    return proc


def fairseq_cmd(tool, args):
    """``fairseq-<tool> args`` as the equivalent ``python -m fairseq_cli.<tool> args``."""
    return [sys.executable, "-m", f"fairseq_cli.{tool}"] + [str(a) for a in args]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need a CUDA device: skip them where there is none."""
    if torch.cuda.is_available():
        return
    no_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(no_gpu)


@pytest.fixture(scope="session")
def run_cli():
    def _run(tool, args, **kw):
        return run(fairseq_cmd(tool, args), **kw)
    return _run


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """Generate, tokenise and BPE-encode a tiny corpus once per session; returns its directory (Path)."""
    root = tmp_path_factory.mktemp("tiny_corpus")
    raw, tok, bpe = root / "raw", root / "tok", root / "bpe"
    for d in (tok, bpe):
        d.mkdir()
    run([sys.executable, QUICKSTART_CLI, "generate", "--out", raw, "--seed", 7,
         "--train", TINY_SIZES["train"], "--valid", TINY_SIZES["valid"], "--test", TINY_SIZES["test"]])
    from corpus.text import tokenize

    for split in TINY_SIZES:
        for lang in ("de", "en"):
            lines = (raw / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            (tok / f"{split}.{lang}").write_text("".join(tokenize(s) + "\n" for s in lines), encoding="utf-8")
    subword_nmt = _console_script("subword-nmt")
    run([subword_nmt, "learn-joint-bpe-and-vocab", "--input", tok / "train.de", tok / "train.en",
         "-s", TINY_BPE_MERGES, "-o", root / "codes", "--write-vocabulary", root / "vocab.de", root / "vocab.en"])
    for split in TINY_SIZES:
        for lang in ("de", "en"):
            with open(tok / f"{split}.{lang}", encoding="utf-8") as src:
                text = src.read()
            out = run([subword_nmt, "apply-bpe", "-c", root / "codes", "--vocabulary", root / f"vocab.{lang}",
                       "--vocabulary-threshold", 1], stdin=text).stdout
            (bpe / f"{split}.{lang}").write_text(out, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_data_bin(tiny_corpus):
    """Binarised tiny corpus (de -> en, joined dictionary); returns the data-bin path as a string."""
    dest = tiny_corpus / "data-bin"
    bpe = tiny_corpus / "bpe"
    run(fairseq_cmd("preprocess", [
        "--source-lang", "de", "--target-lang", "en", "--trainpref", bpe / "train",
        "--validpref", bpe / "valid", "--testpref", bpe / "test", "--destdir", dest,
        "--joined-dictionary", "--workers", 1]))
    for name in ("dict.de.txt", "dict.en.txt", "train.de-en.de.bin", "test.de-en.en.idx"):
        assert (dest / name).exists(), f"fairseq-preprocess did not write {name}"
    return str(dest)
