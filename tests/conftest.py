"""Shared fixtures: a tiny quickstart corpus, binarised once per test session, and CLI helpers.

- ``tiny_corpus``: directory with raw/{train,valid,test}.{de,en}, tok/, bpe/ and the BPE codes.
- ``tiny_data_bin``: path (str) of the binarised tiny corpus (fairseq-preprocess, joined dictionary).
- ``tiny_checkpoint``: the one tiny translation model the end-to-end tests share.
- ``run_cli``: run a fairseq command line (``run_cli("train", [...])`` runs ``python -m fairseq_cli.train``,
  the module behind the ``fairseq-train`` console script) with the repository importable.

With pytest-xdist (``-n 2``, what scripts/run_tests.sh uses where it is installed) each worker is a separate
session; the three fixtures above are then built once for the whole run by whichever worker needs them first,
under a file lock (:func:`built_once`), and the other worker reuses them.

Paths, the subprocess environment and ``run`` live in tests/helpers.py (which also documents the markers).
"""

import os
import shutil
import sys

import pytest
import torch
from filelock import FileLock

# helpers sets up sys.path (the checkout, examples/quickstart, benchmarks/) before anything imports lite_fairseq.
# The names below are imported here too, so ``from conftest import REPO, run`` keeps working; new code imports them
# from helpers.
from helpers import (QUICKSTART_CLI, REPO, USER_DIR, cli_env, console_script, fairseq_cmd, run,  # noqa: F401
                     subprocess_env)

# Kernel tests run Triton's CPU interpreter where there is no GPU. TRITON_INTERPRET must be set before Triton is
# first imported, so it is set here, at collection time, and only when no CUDA device exists (with one, the same
# tests run the compiled kernels on the GPU). This is the only conftest.py.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

TINY_SIZES = {"train": 400, "valid": 40, "test": 20}
TINY_BPE_MERGES = 300


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


def built_once(tmp_path_factory, name, build):
    """A folder made by ``build(folder)`` once per test run: in a plain session a fresh temporary folder; under
    pytest-xdist the first worker to get here builds it in the run's temporary root (shared by the workers) while
    holding a file lock, and the others wait for it and reuse it. A failed build leaves no folder behind."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            done.touch()
    return folder


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """Generate, tokenise and BPE-encode a tiny corpus once per run; returns its directory (Path)."""
    return built_once(tmp_path_factory, "tiny_corpus", _make_tiny_corpus)


def _make_tiny_corpus(root):
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
    subword_nmt = console_script("subword-nmt")
    run([subword_nmt, "learn-joint-bpe-and-vocab", "--input", tok / "train.de", tok / "train.en",
         "-s", TINY_BPE_MERGES, "-o", root / "codes", "--write-vocabulary", root / "vocab.de", root / "vocab.en"])
    for split in TINY_SIZES:
        for lang in ("de", "en"):
            with open(tok / f"{split}.{lang}", encoding="utf-8") as src:
                text = src.read()
            out = run([subword_nmt, "apply-bpe", "-c", root / "codes", "--vocabulary", root / f"vocab.{lang}",
                       "--vocabulary-threshold", 1], stdin=text).stdout
            (bpe / f"{split}.{lang}").write_text(out, encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_data_bin(tiny_corpus, tmp_path_factory):
    """Binarised tiny corpus (de -> en, joined dictionary); returns the data-bin path as a string."""
    bpe = tiny_corpus / "bpe"

    def preprocess(dest):
        run(fairseq_cmd("preprocess", [
            "--source-lang", "de", "--target-lang", "en", "--trainpref", bpe / "train",
            "--validpref", bpe / "valid", "--testpref", bpe / "test", "--destdir", dest,
            "--joined-dictionary", "--workers", 1]))
        for name in ("dict.de.txt", "dict.en.txt", "train.de-en.de.bin", "test.de-en.en.idx"):
            assert (dest / name).exists(), f"fairseq-preprocess did not write {name}"

    return str(built_once(tmp_path_factory, "tiny_data_bin", preprocess))


# The one tiny translation model the end-to-end tests share (fairseq-generate, -interactive, -validate, the hub
# interface, compression): lite_transformer_tiny with shared embeddings, 6 updates, validation on (so both
# checkpoint_last.pt and checkpoint_best.pt exist), per-update logging, TensorBoard event files under
# save_dir/tensorboard (fairseq only warns when tensorboardX is missing). Tests that need other training options
# train their own.
TINY_TRAIN_ARGS = [
    "--user-dir", USER_DIR, "--arch", "lite_transformer_tiny", "--share-all-embeddings",
    "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "0.001",
    "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "10",
    "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
    "--max-tokens", "1024", "--num-workers", "0", "--seed", "3", "--cpu",
    "--log-format", "simple", "--log-interval", "1",
]
TINY_TRAIN_UPDATES = 6


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_data_bin, tmp_path_factory):
    """Train the shared tiny model once per run; returns (save_dir: Path, training log: str). Tests must not
    write into save_dir (copy what they change)."""
    def train(folder):
        proc = run(fairseq_cmd("train", [tiny_data_bin, *TINY_TRAIN_ARGS, "--max-update", TINY_TRAIN_UPDATES,
                                         "--save-dir", folder / "save", "--no-epoch-checkpoints",
                                         "--tensorboard-logdir", folder / "save" / "tensorboard"]))
        (folder / "train.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")

    folder = built_once(tmp_path_factory, "tiny_checkpoint", train)
    return folder / "save", (folder / "train.log").read_text(encoding="utf-8")
