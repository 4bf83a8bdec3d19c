"""End to end, as a user types it: fairseq-train / -generate / -interactive / -validate with
``--user-dir lite_fairseq --arch lite_transformer_tiny`` on the tiny quickstart corpus, and a
training run that is killed and restarted continues from checkpoint_last.pt.
"""

import re
import signal
import subprocess
import time

import pytest

from conftest import TINY_SIZES, TINY_TRAIN_ARGS, TINY_TRAIN_UPDATES
from helpers import USER_DIR, fairseq_cmd, subprocess_env

pytestmark = pytest.mark.slow  # every test here trains through the command line

TRAIN_ARGS = TINY_TRAIN_ARGS


@pytest.fixture(scope="module")
def trained(tiny_checkpoint):
    """The session's tiny model (conftest.py), trained for TINY_TRAIN_UPDATES; (save_dir, train log)."""
    return tiny_checkpoint


def test_train_saves_checkpoints(trained):
    save_dir, log = trained
    assert (save_dir / "checkpoint_last.pt").is_file()
    assert (save_dir / "checkpoint_best.pt").is_file()
    assert "LiteTransformerModel" in log and "lite_transformer_tiny" in log, "not the registered architecture"
    assert re.search(rf"num_updates[ =]{TINY_TRAIN_UPDATES}\b", log), "training did not reach --max-update"
    losses = [float(x) for x in re.findall(r"train_inner \|.*? loss=([0-9.]+)", log)]
    assert len(losses) >= 5 and all(l == l and l > 0 for l in losses), f"bad training losses: {losses}"


def test_generate_beam_search_remove_bpe(trained, tiny_data_bin, run_cli):
    save_dir, _ = trained
    # --required-batch-size-multiple 1: fairseq's batch_by_size drops a last batch smaller than the
    # multiple (default 8), which would silently skip test sentences.
    proc = run_cli("generate", [tiny_data_bin, "--user-dir", USER_DIR, "--path", save_dir / "checkpoint_last.pt",
                                "--gen-subset", "test", "--beam", 4, "--batch-size", 16,
                                "--required-batch-size-multiple", 1, "--remove-bpe", "--max-len-b", 40,
                                "--num-workers", 0, "--cpu"])
    out = proc.stdout
    hyps = {int(m.group(1)): m.group(2) for m in re.finditer(r"^H-(\d+)\t-?[0-9.]+(?:e-?\d+)?\t(.*)$", out, re.M)}
    assert sorted(hyps) == list(range(TINY_SIZES["test"])), "not every test sentence got a hypothesis"
    assert not any("@@" in h for h in hyps.values()), "--remove-bpe left BPE markers in hypotheses"
    refs = re.findall(r"^T-\d+\t(.*)$", out, re.M)
    assert len(refs) == TINY_SIZES["test"] and not any("@@" in r for r in refs)
    assert re.search(r"^Generate test with beam=4: BLEU4? = [0-9.]+", out, re.M), "no BLEU line"


def test_interactive_reads_stdin_including_an_empty_line(trained, tiny_data_bin, tiny_corpus, run_cli):
    save_dir, _ = trained
    lines = ["Der Hund sieht die Katze .", "", "Anna hat gestern ein Buch gelesen ."]
    proc = run_cli("interactive", [tiny_data_bin, "--user-dir", USER_DIR, "--path", save_dir / "checkpoint_last.pt",
                                   "--source-lang", "de", "--target-lang", "en", "--beam", 4,
                                   "--bpe", "subword_nmt", "--bpe-codes", tiny_corpus / "codes",
                                   "--max-len-b", 40, "--buffer-size", 1, "--cpu"],
                   stdin="\n".join(lines) + "\n", timeout=300)
    out = proc.stdout
    assert "Traceback" not in proc.stderr
    sources = dict(re.findall(r"^S-(\d+)\t(.*)$", out, re.M))
    detok = dict(re.findall(r"^D-(\d+)\t-?[0-9.]+(?:e-?\d+)?\t(.*)$", out, re.M))
    hyps = re.findall(r"^H-(\d+)\t-?[0-9.]+(?:e-?\d+)?\t(.*)$", out, re.M)
    assert sorted(int(i) for i, _ in hyps) == [0, 1, 2], f"expected one hypothesis per input line:\n{out[-2000:]}"
    assert sorted(sources) == sorted(detok) == ["0", "1", "2"]
    # the source was BPE-encoded with the codes (and is shown that way); the D- line is BPE-decoded
    assert sources["0"].replace("@@ ", "").startswith("Der Hund sieht")
    assert sources["1"].strip() == ""
    assert sources["2"].replace("@@ ", "").startswith("Anna hat gestern")
    assert not any("@@" in d for d in detok.values())


def test_validate(trained, tiny_data_bin, run_cli):
    save_dir, _ = trained
    proc = run_cli("validate", [tiny_data_bin, "--task", "translation", "--user-dir", USER_DIR,
                                "--path", save_dir / "checkpoint_best.pt",
                                "--valid-subset", "valid", "--max-tokens", 2048, "--num-workers", 0, "--cpu"])
    log = proc.stdout + proc.stderr
    m = re.search(r"valid on 'valid' subset \| loss ([0-9.]+) \| nll_loss ([0-9.]+)", log)
    assert m, f"no validation loss in:\n{log[-2000:]}"
    assert 0 < float(m.group(1)) < 50


def _wait_for(proc, pattern, timeout):
    """Read proc's merged output until a line matches; return (match, all text so far)."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m, "".join(seen)
    raise AssertionError(f"{pattern!r} never appeared (exit code {proc.poll()}):\n{''.join(seen)[-3000:]}")


def test_killed_training_resumes_from_checkpoint_last(tiny_data_bin, tmp_path, run_cli):
    save_dir = tmp_path / "ckpt"
    args = [tiny_data_bin, *TRAIN_ARGS, "--save-dir", save_dir, "--save-interval-updates", 3,
            "--keep-interval-updates", 1, "--no-epoch-checkpoints"]
    proc = subprocess.Popen(fairseq_cmd("train", args + ["--max-update", 1000]), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=subprocess_env(), start_new_session=True)
    try:
        # "Saved checkpoint" is logged after checkpoint_last.pt has been written completely
        _wait_for(proc, r"Saved checkpoint .* @ \d+ updates", timeout=240)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert (save_dir / "checkpoint_last.pt").is_file()

    resumed = run_cli("train", args + ["--max-update", 12])
    log = resumed.stdout + resumed.stderr
    m = re.search(r"Loaded checkpoint \S*checkpoint_last\.pt \(epoch \d+ @ (\d+) updates\)", log)
    assert m, f"the restarted run did not load checkpoint_last.pt:\n{log[-3000:]}"
    start = int(m.group(1))
    assert start >= 3 and start % 3 == 0, f"resumed from update {start}, expected a saved multiple of 3"
    assert start < 12, "the killed run got past the restart's --max-update; nothing left to resume"
    steps = [int(x) for x in re.findall(r"train_inner \|.*?num_updates=(\d+)", log)]
    assert steps and steps[0] == start + 1, f"update count restarted at {steps[:1]}, expected {start + 1}"
    assert steps[-1] == 12 and steps == list(range(start + 1, 13))
