"""examples/wikitext103 end to end on a tiny WikiText-format corpus made here (no download): prepare.sh binarises
it, train.sh trains lite_transformer_lm (adaptive input + tied adaptive softmax, adaptive_loss) through
fairseq-train with tiny-model overrides, eval.sh scores it with fairseq-eval-lm and a context window, before and
after training, and sample.sh completes a prompt with fairseq-interactive --sampling."""

import math

import pytest

from helpers import run_script
from lm_cli_helpers import perplexity, write_wikitext

# the paper's schedule stays in train.sh; these shrink the model and the run to seconds on a CPU
TINY_TRAIN = [
    "--arch", "lite_transformer_lm_tiny", "--decoder-embed-dim", "64",
    "--adaptive-input", "--adaptive-input-cutoff", "20,40", "--adaptive-softmax-cutoff", "20,40",
    "--tie-adaptive-weights", "--tie-adaptive-proj",
    "--optimizer", "adam", "--lr", "0.005", "--warmup-updates", "5", "--warmup-init-lr", "1e-4",
    "--lr-period-updates", "40", "--clip-norm", "0", "--tokens-per-sample", "64", "--max-tokens", "1024",
    "--update-freq", "1", "--cpu", "--num-workers", "0", "--no-epoch-checkpoints",
]
TINY_EVAL = ["--cpu", "--tokens-per-sample", "64", "--context-window", "32", "--max-tokens", "1024",
             "--num-workers", "0"]


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("wikitext")
    raw = write_wikitext(work / "raw")
    prep = run_script("wikitext103/prepare.sh", work / "bin", cwd=work, WIKITEXT_DIR=raw, WORKERS=1)
    ckpt = work / "ckpt"
    train1 = run_script("wikitext103/train.sh", work / "bin", ckpt, *TINY_TRAIN, "--max-update", "1", cwd=work)
    before = run_script("wikitext103/eval.sh", work / "bin", ckpt / "checkpoint_last.pt", *TINY_EVAL, cwd=work)
    # resumes from checkpoint_last.pt and goes on to 40 updates
    train2 = run_script("wikitext103/train.sh", work / "bin", ckpt, *TINY_TRAIN, "--max-update", "40", cwd=work)
    after = run_script("wikitext103/eval.sh", work / "bin", ckpt / "checkpoint_last.pt", *TINY_EVAL, cwd=work)
    return {"work": work, "prep": prep, "train1": train1, "train2": train2, "before": before, "after": after,
            "ckpt": ckpt}


@pytest.mark.slow
def test_prepare_binarises_the_local_text_with_one_dictionary(lm_run):
    bin_dir = lm_run["work"] / "bin"
    for split in ("train", "valid", "test"):
        assert (bin_dir / f"{split}.bin").stat().st_size > 0
    words = {line.split()[0] for line in (bin_dir / "dict.txt").read_text().splitlines()}
    assert {"tower", "the", "=", "1805"} <= words


@pytest.mark.slow
def test_training_runs_the_lite_lm_with_adaptive_softmax(lm_run):
    log = lm_run["train1"].stdout + lm_run["train1"].stderr
    assert "LiteTransformerLanguageModel" in log and "AdaptiveSoftmax" in log
    assert "criterion: AdaptiveLoss" in log
    log2 = lm_run["train2"].stdout + lm_run["train2"].stderr
    assert "num_updates 40" in log2
    assert "Loaded checkpoint" in log2  # the second run resumed


@pytest.mark.slow
def test_eval_lm_perplexity_is_finite_and_drops_after_training(lm_run):
    before, after = perplexity(lm_run["before"].stderr + lm_run["before"].stdout), \
        perplexity(lm_run["after"].stderr + lm_run["after"].stdout)
    assert math.isfinite(before) and math.isfinite(after)
    assert after < before / 2, (before, after)
    # every test token was scored (nothing silently dropped by batching)
    lines = (lm_run["work"] / "raw/wiki.test.tokens").read_text().splitlines()
    n_test_tokens = sum(len(line.split()) + 1 for line in lines)  # fairseq ends every line with </s>
    assert f"Evaluated {n_test_tokens:,} tokens" in lm_run["after"].stderr + lm_run["after"].stdout


@pytest.mark.slow
def test_sampling_completes_a_prompt(lm_run):
    proc = run_script("wikitext103/sample.sh", lm_run["work"] / "bin", lm_run["ckpt"] / "checkpoint_last.pt", "--cpu",
                      cwd=lm_run["work"], stdin="the old tower\nthe\n", LENGTH=12)
    hyps = [line.split("\t") for line in proc.stdout.splitlines() if line.startswith("H-")]
    assert len(hyps) == 2, proc.stdout
    texts = {h[0]: h[2].split() for h in hyps}
    assert texts["H-0"][:3] == ["the", "old", "tower"] and len(texts["H-0"]) > 3
    assert texts["H-1"][0] == "the" and len(texts["H-1"]) > 1
    assert all(math.isfinite(float(h[1])) for h in hyps)


def test_prepare_names_a_missing_split(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "wiki.train.tokens").write_text(" the tower . \n")
    proc = run_script("wikitext103/prepare.sh", tmp_path / "bin", cwd=tmp_path, check=False, WIKITEXT_DIR=raw)
    assert proc.returncode != 0
    assert "wiki.valid.tokens is missing or empty" in proc.stderr
