"""Two-process CPU training on fairseq's distributed engine (torch.distributed with gloo) is one real job.

The launch under test is the one README documents for CPUs::

    torchrun --standalone --nproc_per_node 2 --no-python sh -c \
        'exec fairseq-train DATA ... --cpu --distributed-world-size $WORLD_SIZE --distributed-rank $RANK \
         --distributed-init-method env:// --distributed-no-spawn --distributed-backend gloo --ddp-backend legacy_ddp'

(here ``python -m fairseq_cli.train`` stands for ``fairseq-train``). What is checked:

* both ranks join one process group of world size 2 and fairseq trains "on 2 devices";
* gradients are all-reduced: fairseq gives rank r the batches r, r+2, r+4, ... of the epoch's (seeded) batch
  order, and a single process with ``--update-freq 2`` sums the gradients of batches 2k and 2k+1 into update k.
  With dropout 0 both runs take the same steps, so the parameters after N updates agree to float rounding, while
  training itself moves them by orders of magnitude more;
* only rank 0 writes checkpoints (each rank is given its own ``--save-dir``; rank 1's stays empty);
* a model with a parameter that never receives a gradient trains to the end instead of failing or hanging.

Every subprocess runs under a timeout, and torchrun's ``--standalone`` rendezvous binds a free port chosen by the
operating system, so concurrent runs cannot collide on a port.
"""

import re
import sys

import pytest
import torch

import lite_fairseq  # noqa: F401  (allow-lists fairseq's checkpoint types for torch.load)
from helpers import REPO, USER_DIR, run, subprocess_env
from tiny_parallel_corpus import binarise

pytestmark = pytest.mark.slow  # every test here trains through the command line

TIMEOUT = 240  # seconds per training run: generous for a busy 2-core machine; a hang fails instead of blocking
UPDATES = 4

# rank and world size come from torchrun's environment; "$@" carries the training options unquoted-safe
RANK_SCRIPT = ('py=$1; save=$2; shift 2; exec "$py" -m fairseq_cli.train "$@" --save-dir "$save/rank$RANK" '
               '--distributed-world-size "$WORLD_SIZE" --distributed-rank "$RANK" '
               '--distributed-init-method env:// --distributed-no-spawn --distributed-backend gloo')


@pytest.fixture(scope="module")
def data_bin(tmp_path_factory):
    return binarise(tmp_path_factory.mktemp("ddp_corpus"))


def training_args(data, arch="lite_transformer_tiny", user_dir=USER_DIR):
    return [data, "--user-dir", user_dir, "--task", "translation", "--arch", arch,
            "--optimizer", "adam", "--lr", "1e-3", "--criterion", "cross_entropy",
            "--batch-size", "4", "--required-batch-size-multiple", "1", "--max-update", str(UPDATES),
            "--dropout", "0", "--seed", "3", "--cpu", "--disable-validation", "--no-epoch-checkpoints",
            "--save-interval-updates", "2", "--log-format", "simple", "--log-interval", "1",
            "--num-workers", "0", "--ddp-backend", "legacy_ddp"]


def torchrun_two_cpu_processes(save_root, args, env=None):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--no-python", "sh", "-c", RANK_SCRIPT, "sh", sys.executable, save_root] + [str(a) for a in args]
    return run(cmd, timeout=TIMEOUT, env=env, cwd=REPO)


def model_state(path):
    state = torch.load(path, map_location="cpu")  # weights_only, with lite_fairseq's allow-list
    return state["model"], state


def max_difference(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())


def train_losses(log):
    return [float(m) for m in re.findall(r"train_inner \| epoch \d+:\s+\d+ / \d+ loss=([0-9.]+)", log)]


def test_two_cpu_processes_train_as_one_job(data_bin, tmp_path):
    dist = torchrun_two_cpu_processes(tmp_path / "dist", training_args(data_bin))
    log = dist.stdout + dist.stderr
    assert "initialized host" in log and re.search(r"as rank 0\b", log) and re.search(r"as rank 1\b", log), log[-3000:]
    assert "training on 2 devices" in log, log[-3000:]
    assert f"num_updates: {UPDATES} >= max_update: {UPDATES}" in log, log[-3000:]

    # only rank 0 writes checkpoints
    rank0, rank1 = tmp_path / "dist" / "rank0", tmp_path / "dist" / "rank1"
    assert sorted(p.name for p in rank0.glob("*.pt")) == ["checkpoint_1_2.pt", "checkpoint_1_4.pt",
                                                          "checkpoint_last.pt"]
    assert not rank1.exists() or not any(rank1.iterdir()), f"rank 1 wrote {list(rank1.iterdir())}"

    # the same total batch in one process: update k sums batches 2k and 2k+1
    single = run([sys.executable, "-m", "fairseq_cli.train"] + training_args(data_bin)
                 + ["--update-freq", "2", "--save-dir", tmp_path / "single"], timeout=TIMEOUT, cwd=REPO)
    single_log = single.stdout + single.stderr
    assert "training on 1 devices" in single_log

    dist_model, dist_state = model_state(rank0 / "checkpoint_last.pt")
    single_model, _ = model_state(tmp_path / "single" / "checkpoint_last.pt")
    assert dist_state["optimizer_history"][-1]["num_updates"] == UPDATES
    assert dist_state["cfg"]["distributed_training"]["distributed_world_size"] == 2

    moved = max_difference(dist_model, model_state(rank0 / "checkpoint_1_2.pt")[0])
    gap = max_difference(dist_model, single_model)
    assert moved > 1e-3, f"training barely moved the parameters ({moved}); the comparison would prove nothing"
    assert gap < 2e-5, f"two-process model differs from the single-process run by {gap} (moved {moved})"

    dist_losses, single_losses = train_losses(log), train_losses(single_log)
    assert len(dist_losses) == len(single_losses) == UPDATES
    assert dist_losses == pytest.approx(single_losses, abs=2e-3)


def test_unused_parameters_do_not_hang(data_bin, tmp_path):
    """A parameter outside every forward pass (``unused_branch``) gets no gradient on any rank. legacy_ddp
    all-reduces a zero gradient for it, so training finishes, and the parameter stays as initialised."""
    plugin = REPO / "tests" / "ddp_unused_plugin"
    args = training_args(data_bin, arch="lite_transformer_tiny_unused_branch", user_dir=plugin)
    proc = torchrun_two_cpu_processes(tmp_path / "dist", args, env=subprocess_env())
    log = proc.stdout + proc.stderr
    assert "training on 2 devices" in log and f"num_updates: {UPDATES} >= max_update: {UPDATES}" in log
    first, _ = model_state(tmp_path / "dist" / "rank0" / "checkpoint_1_2.pt")
    last, _ = model_state(tmp_path / "dist" / "rank0" / "checkpoint_last.pt")
    assert "unused_branch.weight" in last
    assert torch.equal(first["unused_branch.weight"], last["unused_branch.weight"])
    assert not torch.equal(first["encoder.layers.0.ffn.fc1.weight"], last["encoder.layers.0.ffn.fc1.weight"])
