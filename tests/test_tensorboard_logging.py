"""``fairseq-train --tensorboard-logdir DIR`` with the plugin writes TensorBoard event files (the `logging` extra)."""

import struct

import pytest


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


def test_fairseq_train_with_tensorboard_logdir_writes_event_files(tiny_checkpoint):
    """The session's tiny model (conftest.py) was trained with --tensorboard-logdir SAVE_DIR/tensorboard."""
    pytest.importorskip("tensorboardX", reason="the `logging` extra (tensorboardX) is not installed")
    logdir = tiny_checkpoint[0] / "tensorboard"
    events = {split: sorted((logdir / split).glob("events.out.tfevents.*")) for split in ("train", "valid")}
    assert events["train"] and events["valid"], f"no event files under {logdir}: {sorted(logdir.rglob('*'))}"
    assert "loss" in set().union(*map(_scalar_tags, events["train"]))
    assert "loss" in set().union(*map(_scalar_tags, events["valid"]))
