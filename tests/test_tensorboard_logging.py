"""``fairseq-train --tensorboard-logdir DIR`` with the plugin writes TensorBoard event files (the `logging` extra)."""

import struct

import pytest

from helpers import USER_DIR

pytestmark = pytest.mark.slow


def _scalar_tags(path):
    """Tags of the scalars in one TensorBoard event file (TFRecord framing: length, crc, Event proto, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    data, tags, offset = path.read_bytes(), set(), 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        event = Event.FromString(data[offset + 12:offset + 12 + length])
        tags.update(v.tag for v in event.summary.value)
        offset += 12 + length + 4
    return tags


def test_fairseq_train_with_tensorboard_logdir_writes_event_files(tiny_data_bin, tmp_path, run_cli):
    pytest.importorskip("tensorboardX", reason="the `logging` extra (tensorboardX) is not installed")
    logdir = tmp_path / "tb"
    run_cli("train", [
        tiny_data_bin, "--user-dir", USER_DIR, "--arch", "lite_transformer_tiny", "--share-all-embeddings",
        "--optimizer", "adam", "--lr", "0.001", "--criterion", "cross_entropy", "--max-tokens", "1024",
        "--max-update", 2, "--log-interval", 1, "--log-format", "simple", "--num-workers", 0, "--cpu",
        "--save-dir", tmp_path / "ckpt", "--no-save", "--tensorboard-logdir", logdir])
    events = {split: sorted((logdir / split).glob("events.out.tfevents.*")) for split in ("train", "valid")}
    assert events["train"] and events["valid"], f"no event files under {logdir}: {sorted(logdir.rglob('*'))}"
    assert "loss" in set().union(*map(_scalar_tags, events["train"]))
    assert "loss" in set().union(*map(_scalar_tags, events["valid"]))
