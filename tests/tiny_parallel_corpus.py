"""A tiny parallel corpus binarised with fairseq-preprocess (joined dictionary).

Used by the distributed-training and checkpoint-conversion tests. The corpus is deterministic (fixed seed) and
small enough that fairseq-preprocess takes a few seconds; the target is the reversed source with a few words
mapped, so there is something to learn.
"""

import random
from pathlib import Path

from helpers import fairseq_cmd, run

_WORDS = [f"w{i}" for i in range(24)]


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
    run(fairseq_cmd("preprocess", [
        "--source-lang", "src", "--target-lang", "tgt", "--trainpref", text / "train",
        "--validpref", text / "valid", "--testpref", text / "test", "--destdir", dest,
        "--joined-dictionary", "--workers", "1"]), timeout=timeout)
    for name in ("dict.src.txt", "dict.tgt.txt", "train.src-tgt.src.bin", "test.src-tgt.tgt.idx"):
        assert (dest / name).exists(), f"fairseq-preprocess did not write {name}"
    return dest
