"""A tiny parallel corpus binarised with fairseq-preprocess (joined dictionary), and subprocess helpers.

Used by the distributed-training and checkpoint-conversion tests. The corpus is deterministic (fixed seed) and
small enough that fairseq-preprocess takes a few seconds; the target is the reversed source with a few words
mapped, so there is something to learn.
"""

import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
USER_DIR = str(REPO / "lite_fairseq")

_WORDS = [f"w{i}" for i in range(24)]


def subprocess_env(extra_pythonpath=()):
    """Environment for fairseq subprocesses: this checkout importable, few threads (2-core CI machines)."""
    env = dict(os.environ)
    paths = [str(REPO)] + [str(p) for p in extra_pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    return env


def run(cmd, *, timeout, env=None, cwd=None, check=True):
    """Run a command with a hard timeout; on failure raise with the tail of its output."""
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else subprocess_env(), cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")[-3000:] if isinstance(e.stdout, bytes) else (e.stdout or "")[-3000:]
        raise AssertionError(f"command timed out after {timeout}s: {' '.join(map(str, cmd))}\n{out}") from None
    if check and proc.returncode != 0:
        raise AssertionError(f"command failed (exit code {proc.returncode}): {' '.join(map(str, cmd))}\n"
                             f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")
    return proc


def fairseq_cli(tool):
    """``fairseq-<tool>`` as ``python -m fairseq_cli.<tool>`` of this interpreter."""
    return [sys.executable, "-m", f"fairseq_cli.{tool}"]


def write_parallel_text(directory: Path, sizes=(("train", 48), ("valid", 8), ("test", 8)), seed: int = 0):
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in sizes:
        src, tgt = [], []
        for _ in range(n):
            sent = [rng.choice(_WORDS) for _ in range(rng.randint(3, 9))]
            src.append(" ".join(sent))
            tgt.append(" ".join(w.upper() if int(w[1:]) % 3 == 0 else w for w in reversed(sent)))
        (directory / f"{split}.src").write_text("\n".join(src) + "\n", encoding="utf-8")
        (directory / f"{split}.tgt").write_text("\n".join(tgt) + "\n", encoding="utf-8")


def binarise(root: Path, timeout: int = 120) -> Path:
    """Write the text under ``root/text`` and binarise it into ``root/data-bin`` (src -> tgt, joined dict)."""
    text = root / "text"
    write_parallel_text(text)
    dest = root / "data-bin"
    run(fairseq_cli("preprocess") + [
        "--source-lang", "src", "--target-lang", "tgt", "--trainpref", text / "train",
        "--validpref", text / "valid", "--testpref", text / "test", "--destdir", dest,
        "--joined-dictionary", "--workers", "1"], timeout=timeout)
    for name in ("dict.src.txt", "dict.tgt.txt", "train.src-tgt.src.bin", "test.src-tgt.tgt.idx"):
        assert (dest / name).exists(), f"fairseq-preprocess did not write {name}"
    return dest
