"""benchmarks/compression_sweep.sh end to end on the session's tiny model (its own file, so that the test runner
can give it a process of its own: it is the slowest end-to-end test)."""

import pytest
import torch

from helpers import BENCHMARKS, run, subprocess_env

from lite_fairseq.compression import storage
from lite_fairseq.compression.pruning import load_masks, prunable_names, sparsity_of

ARCH_OPTS = ["--arch", "lite_transformer_tiny", "--share-all-embeddings"]


def _prunable_sparsity(state_dict):
    return sparsity_of(state_dict[n] for n in prunable_names(state_dict))


def sweep(data_bin, checkpoint, out, **more):
    """Run benchmarks/compression_sweep.sh (2 fine-tuning updates a row, beam 2); its stdout and summary rows."""
    knobs = dict(SWEEP_SPARSITIES="0 0.5", SWEEP_UPDATES="2", SWEEP_BEAM="2")
    proc = run(["bash", BENCHMARKS / "compression_sweep.sh", data_bin, checkpoint, out, *ARCH_OPTS],
               env=subprocess_env(**{**knobs, **more}), timeout=600)
    return proc, (out / "summary.txt").read_text().splitlines()


@pytest.mark.slow  # trains and decodes through the command line
def test_compression_sweep_script_prunes_gradually_by_default(tiny_checkpoint, tiny_data_bin, tmp_path):
    """The dense control and one row pruned gradually while fine-tuning (the default)."""
    proc, rows = sweep(tiny_data_bin, tiny_checkpoint[0] / "checkpoint_last.pt", tmp_path / "sweep")
    assert "gradual pruning (target reached at update 1, a step every 1)" in proc.stdout
    assert [r.split()[0] for r in rows] == ["0", "0.5"]
    ratios = [float(r.split()[2].rstrip("x")) for r in rows]
    assert 3.0 < ratios[0] < ratios[1]  # 8-bit alone, then 8-bit + half the weights gone
    for r in rows:
        for bleu in r.split()[3:6]:
            assert 0.0 <= float(bleu) <= 100.0
    for row in ("s0", "s0.5"):
        stored = torch.load(tmp_path / "sweep" / row / "compressed.pt", weights_only=True)[storage.MARKER]
        dense = storage.decompress_state_dict(stored)
        sparsity = _prunable_sparsity(dense)
        assert (sparsity >= 0.5 - 1e-4) if row == "s0.5" else (sparsity < 0.1), (row, sparsity)


@pytest.mark.slow  # trains and decodes through the command line
def test_compression_sweep_script_prunes_once_and_fine_tunes_with_the_masks(tiny_checkpoint, tiny_data_bin, tmp_path):
    """SWEEP_PRUNE=oneshot: one row pruned once, then fine-tuned with the masks kept."""
    _, rows = sweep(tiny_data_bin, tiny_checkpoint[0] / "checkpoint_last.pt", tmp_path / "oneshot",
                    SWEEP_PRUNE="oneshot", SWEEP_SPARSITIES="0.5", SWEEP_ORIGINAL_BLEU="12.3")
    assert [r.split()[0] for r in rows] == ["0.5"] and rows[0].split()[3] == "12.3"
    stored = torch.load(tmp_path / "oneshot" / "s0.5" / "compressed.pt", weights_only=True)[storage.MARKER]
    masks = load_masks(tmp_path / "oneshot" / "s0.5" / "pruned" / "masks.pt")
    dense = storage.decompress_state_dict(stored)
    kept = sum(int(dense[n].count_nonzero()) for n in masks)
    assert kept <= 0.5 * sum(m.numel() for m in masks.values()) + 1
