"""Checkpoints load under torch's default weights_only=True through an explicit allow-list; anything else is
refused with a clear message, and the check is never turned off."""

import argparse
import pathlib

import numpy as np
import pytest
import torch
from fairseq import checkpoint_utils
from omegaconf import OmegaConf

from lite_fairseq import checkpoint_safety, compression
from lite_fairseq.checkpoint_safety import CheckpointLoadError, load_checkpoint
from model_helpers import build_model, make_dictionary, parse_model_args, random_tokens


def _fairseq_like_state(model, args):
    """The structure fairseq's Trainer.state_dict() writes."""
    return {
        "args": None,
        "cfg": {"common": {"seed": 1}, "model": args, "task": {"_name": "translation"}},
        "model": model.state_dict(),
        "criterion": {},
        "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {"best": np.float64(3.25)}, "num_updates": 7}],
        "task_state": {},
        "extra_state": {"metrics": {}, "previous_training_time": 1.5, "val_loss": np.float32(2.0)},
        "last_optimizer_state": {"state": {}, "param_groups": [{"lr": [0.001], "betas": (0.9, 0.98)}]},
    }


def test_default_torch_load_keeps_weights_only_on(tmp_path):
    """After the plugin is imported, plain torch.load (its default arguments) still refuses pickled objects outside
    the allow-list: the check stays on, only fairseq's own types were added to it."""
    import pickle

    path = tmp_path / "foreign.pt"
    torch.save({"x": Foreign()}, path)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):
        torch.load(path)
    torch.save({"args": argparse.Namespace(arch="lite_transformer_tiny")}, path)
    assert torch.load(path)["args"].arch == "lite_transformer_tiny"


def test_round_trip_under_weights_only(tmp_path: pathlib.Path):
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", dictionary=d).eval()
    args = parse_model_args("lite_transformer_tiny")
    path = tmp_path / "checkpoint_last.pt"
    checkpoint_utils.torch_persistent_save(_fairseq_like_state(model, args), str(path))

    state = checkpoint_utils.load_checkpoint_to_cpu(str(path))  # torch.load with its default weights_only=True
    assert isinstance(state["cfg"]["model"], argparse.Namespace)
    restored = build_model("lite_transformer_tiny", dictionary=d, seed=123).eval()
    restored.load_state_dict(state["model"])
    src, prev = random_tokens(d, 2, 6), random_tokens(d, 2, 5)
    with torch.no_grad():
        torch.testing.assert_close(restored(src, None, prev)[0], model(src, None, prev)[0])
    assert float(state["optimizer_history"][0]["lr_scheduler_state"]["best"]) == 3.25


def test_registered_post_load_steps_run_in_order_on_what_fairseqs_loader_reads(tmp_path, monkeypatch):
    """The package's own steps come first (decompression, then the cpu_int8 check); a step registered later sees
    the loaded state, the path and fairseq's arg_overrides, and what it returns is what the caller gets."""
    monkeypatch.setattr(checkpoint_safety, "_POST_LOAD_STEPS", checkpoint_safety.post_load_steps())  # undone after
    assert checkpoint_safety.post_load_steps() == [compression.decompress_if_compressed,
                                                   compression.check_cpu_int8_override]
    seen = []

    def mark(state, path, arg_overrides):
        seen.append((path, arg_overrides))
        return dict(state, marked=True)

    assert checkpoint_safety.register_post_load(mark) is mark
    checkpoint_safety.register_post_load(mark)  # registering again changes nothing
    assert checkpoint_safety.post_load_steps()[-1] is mark and len(checkpoint_safety.post_load_steps()) == 3
    model = build_model("lite_transformer_tiny")
    path = tmp_path / "checkpoint.pt"
    checkpoint_utils.torch_persistent_save(_fairseq_like_state(model, parse_model_args("lite_transformer_tiny")),
                                           str(path))
    state = checkpoint_utils.load_checkpoint_to_cpu(str(path), {"dropout": 0.0})
    assert state["marked"] and seen == [(str(path), {"dropout": 0.0})]


def test_older_checkpoints_with_omegaconf_containers_load(tmp_path):
    state = {"cfg": OmegaConf.create({"model": {"_name": "lite_transformer", "dropout": 0.1},
                                      "checkpoint": {"save_dir": "x", "keep": [1, 2]}}),
             "model": {"w": torch.ones(2)}}
    path = tmp_path / "old.pt"
    torch.save(state, path)
    loaded = load_checkpoint(path)
    assert loaded["cfg"].model.dropout == 0.1
    assert list(loaded["cfg"].checkpoint.keep) == [1, 2]


class Foreign:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_a_foreign_object_is_refused(tmp_path, capsys):
    state = {"cfg": {"model": argparse.Namespace(arch="lite_transformer_tiny")}, "model": {},
             "extra_state": {"payload": Foreign()}}
    path = tmp_path / "evil.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointLoadError, match=r"refusing to load checkpoint .*evil\.pt.*`print`"):
        checkpoint_utils.load_checkpoint_to_cpu(str(path))
    with pytest.raises(CheckpointLoadError, match="refusing to load"):
        load_checkpoint(path)
    assert "this must never run" not in capsys.readouterr().out


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.randn(1000)}}, good)
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good.read_bytes()[:1500])
    with pytest.raises(CheckpointLoadError, match=r"cannot read checkpoint .*truncated\.pt"):
        checkpoint_utils.load_checkpoint_to_cpu(str(bad))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointLoadError, match="cannot read checkpoint"):
        load_checkpoint(garbage)
