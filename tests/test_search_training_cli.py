"""``fairseq-train --arch lite_supertransformer`` on the tests' tiny corpus, and a SubTransformer of the trained
SuperTransformer extracted and decoded by ``fairseq-generate`` exactly as the SuperTransformer decodes it."""

import random
import re

import pytest

from helpers import USER_DIR
from lite_fairseq.search.extract import extract_subtransformer

from search_helpers import tiny_space

pytestmark = pytest.mark.slow  # trains and decodes through the command line

TRAIN = ["--user-dir", USER_DIR, "--arch", "lite_supertransformer", "--optimizer", "adam", "--lr", "0.001",
         "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "10", "--criterion", "label_smoothed_cross_entropy",
         "--label-smoothing", "0.1", "--max-tokens", "1024", "--num-workers", "0", "--seed", "3", "--cpu",
         "--log-format", "simple", "--log-interval", "1", "--no-epoch-checkpoints"]
GENERATE = ["--user-dir", USER_DIR, "--gen-subset", "test", "--beam", "2", "--max-len-b", "8", "--batch-size", "8",
            "--cpu"]


def _hypotheses(output: str):
    return sorted(line for line in output.splitlines() if line.startswith("H-"))


def test_supertransformer_trains_and_its_extracted_subtransformer_decodes_as_inside(tiny_data_bin, tmp_path,
                                                                                       run_cli):
    space = tiny_space()
    space.to_file(tmp_path / "space.json")
    save = tmp_path / "ckpt"
    proc = run_cli("train", [tiny_data_bin, *TRAIN, "--search-space", tmp_path / "space.json", "--max-update", 3,
                             "--update-freq", 2, "--save-dir", save])
    log = proc.stdout + proc.stderr
    assert "num_updates=3" in log and "valid on 'valid' subset" in log
    # training resumes from the checkpoint (same space, weights loaded)
    proc = run_cli("train", [tiny_data_bin, *TRAIN, "--search-space", tmp_path / "space.json", "--max-update", 4,
                             "--save-dir", save])
    assert re.search(r"Loaded checkpoint \S*checkpoint_last\.pt \(epoch \d+ @ 3 updates\)", proc.stdout + proc.stderr)

    sub = space.sample(random.Random(3))
    (tmp_path / "sub.json").write_text(sub.to_json())
    extract_subtransformer(save / "checkpoint_last.pt", tmp_path / "sub.json", tmp_path / "sub.pt")
    alone = run_cli("generate", [tiny_data_bin, *GENERATE, "--path", tmp_path / "sub.pt"])
    inside = run_cli("generate", [tiny_data_bin, *GENERATE, "--path", save / "checkpoint_last.pt",
                                  "--model-overrides", f"{{'valid_subtransformer': '{tmp_path / 'sub.json'}'}}"])
    hyps = _hypotheses(alone.stdout)
    assert len(hyps) > 0 and hyps == _hypotheses(inside.stdout)
