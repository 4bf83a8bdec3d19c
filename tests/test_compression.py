"""Compression: pruning, 8-bit storage, the compact checkpoint, decompression on load, masked fine-tuning and
dynamic int8 CPU inference.

In-process tests use a randomly initialised lite_transformer_tiny; the command-line tests share one checkpoint
trained for a few updates on the tiny corpus of conftest.py.
"""

import argparse
import io
import math
import re

import pytest
import torch
from fairseq import checkpoint_utils

from helpers import USER_DIR
from model_helpers import build_model, forward_random_batch, make_dictionary

import lite_fairseq  # noqa: F401
from lite_fairseq.checkpoint_safety import CheckpointLoadError
from lite_fairseq.compression import storage
from lite_fairseq.compression.cli import compress, main as compress_main, serialized_bytes
from lite_fairseq.compression.masked_task import MaskedTranslationConfig, MaskedTranslationTask, scheduled_sparsity
from lite_fairseq.compression.pruning import apply_masks, load_masks, magnitude_prune, prunable_names, sparsity_of
from lite_fairseq.compression import quantize_dynamic_for_cpu
from lite_fairseq.compression.report import size_summary
from lite_fairseq.modules.int8 import count_quantized_linears



def _model_and_state(arch="lite_transformer_tiny", extra=("--share-all-embeddings",), vocab=300, seed=0):
    dictionary = make_dictionary(vocab)
    model = build_model(arch, list(extra), dictionary=dictionary, seed=seed).eval()
    state = {"args": argparse.Namespace(arch=arch), "model": model.state_dict(), "extra_state": {},
             "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "Adam",
                                    "lr_scheduler_state": {"best": None}, "num_updates": 0}]}
    return model, state, dictionary


# ---------------------------------------------------------------------------------------------- storage units

def test_bit_packing_round_trip_and_order():
    mask = torch.tensor([1, 0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=torch.bool)
    packed = storage.pack_bits(mask)
    assert packed.tolist() == [0b10000001, 0b11000000]
    assert torch.equal(storage.unpack_bits(packed, 10), mask)


def test_per_channel_quantisation_keeps_zeros_and_error_bound():
    w = torch.randn(16, 40)
    w[w.abs() < 0.5] = 0.0
    codes, scale = storage.quantize_per_channel(w)
    assert codes.dtype == torch.int8 and scale.shape == (16,)
    assert int(codes.abs().max()) == 127
    back = storage.dequantize_per_channel(codes, scale)
    assert torch.equal(back == 0, w == 0)
    assert (back - w).abs().max() <= scale.max() / 2 + 1e-7


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_magnitude_pruning_reaches_target_and_keeps_ties(scope):
    model, state, _ = _model_and_state()
    sd = state["model"]
    names = prunable_names(sd)
    assert "encoder.embed_tokens.weight" in names and "decoder.output_projection.weight" not in names
    masks = magnitude_prune(sd, 0.7, scope=scope)
    total = sum(sd[n].numel() for n in names)
    zeros = sum(int((sd[n] == 0).sum()) for n in names)
    assert abs(zeros / total - 0.7) < 1e-3
    if scope == "layer":
        for n in names:
            assert abs((sd[n] == 0).float().mean().item() - 0.7) < 0.01, n
    # tied tensors stay one tensor, pruned together; the model's own parameters were pruned in place
    assert sd["decoder.output_projection.weight"].data_ptr() == sd["encoder.embed_tokens.weight"].data_ptr()
    assert torch.equal(model.encoder.embed_tokens.weight == 0, ~masks["encoder.embed_tokens.weight"])
    # the smallest magnitudes went: every kept weight is at least as large as every pruned one (global scope)
    if scope == "global":
        kept = torch.cat([sd[n][masks[n]].abs() for n in names])
        assert kept.min() > 0


def test_masks_that_do_not_fit_the_checkpoint_are_named_before_any_weight_is_zeroed():
    sd = {"a.weight": torch.ones(4, 8), "b.weight": torch.ones(2, 3)}
    first = torch.zeros(4, 8, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"masks\.pt: mask for 'b\.weight' has shape \(3, 2\), the weight \(2, 3\)"):
        apply_masks(sd, {"a.weight": first, "b.weight": torch.ones(3, 2, dtype=torch.bool)}, source="masks.pt")
    with pytest.raises(ValueError, match=r"mask for 'c\.weight', which the checkpoint does not have"):
        apply_masks(sd, {"a.weight": first, "c.weight": torch.ones(1, 1, dtype=torch.bool)})
    assert int(sd["a.weight"].count_nonzero()) == 32  # the fitting mask was not applied either
    apply_masks(sd, {"a.weight": first, "b.weight": torch.ones(2, 3, dtype=torch.bool)})
    assert int(sd["a.weight"].count_nonzero()) == 0 and int(sd["b.weight"].count_nonzero()) == 6


def test_round_trip_in_memory_model_equals_loaded_model(tmp_path):
    model, state, dictionary = _model_and_state()
    compressed, expected = compress(state, sparsity=0.6)
    path = tmp_path / "c.pt"
    torch.save(compressed, path)
    # loaded through the plugin's loader (what fairseq-generate uses); compared before load_state_dict, which
    # rewrites fairseq's uninitialised `_float_tensor` buffers in the dict it is given
    loaded = checkpoint_utils.load_checkpoint_to_cpu(str(path))
    assert list(loaded["model"]) == list(expected)
    for name, tensor in expected.items():
        assert torch.equal(loaded["model"][name], tensor), name
    # the in-memory model (pruned and quantised-dequantised weights) and the loaded one compute the same
    model.load_state_dict(expected)
    reference = forward_random_batch(model, dictionary)
    other_model = build_model("lite_transformer_tiny", ["--share-all-embeddings"], dictionary=dictionary, seed=5)
    other_model.load_state_dict(loaded["model"])
    other_model.eval()
    assert torch.equal(forward_random_batch(other_model, dictionary), reference)
    fresh = build_model("lite_transformer_tiny", ["--share-all-embeddings"], dictionary=dictionary, seed=0).eval()
    assert not torch.equal(reference, forward_random_batch(fresh, dictionary))


def test_saved_tensors_have_the_sparsity_and_bit_width(tmp_path):
    _, state, _ = _model_and_state()
    names = prunable_names(state["model"])
    compressed, _ = compress(state, sparsity=0.6)
    path = tmp_path / "c.pt"
    torch.save(compressed, path)
    raw = torch.load(path, weights_only=True)  # the bytes on disk, not the in-memory objects
    packed = raw[storage.MARKER]
    assert raw["model"] == {} and "last_optimizer_state" not in raw
    assert packed["blobs"]["codes"].dtype == torch.int8 and packed["blobs"]["bits"].dtype == torch.uint8
    records = {r["name"]: r for r in packed["tensors"]}
    numel = nnz = 0
    for name in names:
        r = records[name]
        assert r["enc"] == "int8_sparse" and r["bits"] == 8
        start, length = r["mask"]
        n = math.prod(r["shape"])
        kept = int(storage.unpack_bits(packed["blobs"]["bits"][start:start + length], n).sum())
        assert kept == r["values"][1]  # the bitmap and the stored nonzero codes agree
        numel += n
        nnz += kept
    assert abs(1 - nnz / numel - 0.6) < 2e-3
    # every weight matrix of the model is stored in 8 bits; only 1-D and tiny tensors in float32
    for r in packed["tensors"]:
        if r["enc"] in ("float", "float_sparse"):
            assert len(r["shape"]) < 2 or math.prod(r["shape"]) < 1024, r["name"]


def test_on_disk_size_at_least_seven_times_below_fp32(tmp_path):
    _, state, _ = _model_and_state(vocab=1000)
    fp32 = serialized_bytes(state)
    compressed, _ = compress(state, sparsity=0.7)
    path = tmp_path / "c.pt"
    torch.save(compressed, path)
    on_disk = path.stat().st_size
    summary = size_summary(compressed[storage.MARKER], on_disk, fp32)
    assert summary["disk_ratio"] == fp32 / on_disk
    assert fp32 / on_disk >= 7.0, f"{fp32} B fp32 vs {on_disk} B compressed"
    # the paper-convention rows: 8-bit is close to 4x, pruning adds the rest
    ne = summary["totals"]["non_embedding"]
    assert 3.5 < ne["fp32"] / ne["q8"] <= 4.0
    assert ne["q8"] / ne["pruned"] > 2.0


def test_transformer_baseline_compresses_too(tmp_path):
    model, state, dictionary = _model_and_state("transformer_paper_iwslt_128", extra=())
    compressed, expected = compress(state, sparsity=0.5, scope="layer")
    path = tmp_path / "t.pt"
    torch.save(compressed, path)
    loaded = checkpoint_utils.load_checkpoint_to_cpu(str(path))
    model.load_state_dict(expected)
    ref = forward_random_batch(model, dictionary)
    model.load_state_dict(loaded["model"])
    assert torch.equal(forward_random_batch(model, dictionary), ref)


def _corruptions(path):
    data = path.read_bytes()
    yield "truncated", data[: len(data) // 2]
    raw = torch.load(path, weights_only=True)
    codes = raw[storage.MARKER]["blobs"]["codes"].numpy().tobytes()
    needle = codes[1000:1064]
    at = data.find(needle)
    assert at > 0
    flipped = bytearray(data)
    flipped[at + 10] ^= 0xFF
    yield "flipped byte in the codes", bytes(flipped)
    raw[storage.MARKER]["tensors"][3]["values"] = (10 ** 9, 5)
    raw[storage.MARKER]["tensors"][3]["enc"] = "float"
    buf = io.BytesIO()
    torch.save(raw, buf)
    yield "bad record", buf.getvalue()
    raw = torch.load(path, weights_only=True)
    raw[storage.MARKER]["version"] = 99
    buf = io.BytesIO()
    torch.save(raw, buf)
    yield "unknown version", buf.getvalue()


def test_corrupt_or_truncated_compressed_file_fails_clearly(tmp_path):
    _, state, _ = _model_and_state()
    compressed, _ = compress(state, sparsity=0.5)
    good = tmp_path / "good.pt"
    torch.save(compressed, good)
    expected = {"truncated": r"cannot read checkpoint .*bad\.pt", "flipped byte in the codes":
                r"corrupt compressed checkpoint .*bad\.pt: checksum mismatch in the 'codes' blob",
                "bad record": r"corrupt compressed checkpoint .*bad\.pt: tensor '.*' reads floats\[1000000000:",
                "unknown version": r"bad\.pt has format version 99"}
    for what, data in _corruptions(good):
        bad = tmp_path / "bad.pt"
        bad.write_bytes(data)
        with pytest.raises(CheckpointLoadError, match=expected[what]):
            checkpoint_utils.load_checkpoint_to_cpu(str(bad))


def test_info_reports_counts_from_the_file(tmp_path, capsys):
    _, state, _ = _model_and_state()
    ckpt = tmp_path / "in.pt"
    torch.save(state, ckpt)
    out = tmp_path / "c.pt"
    assert compress_main(["compress", str(ckpt), "-o", str(out), "--sparsity", "0.4", "--scope", "layer"]) == 0
    compress_out = capsys.readouterr().out
    assert compress_main(["info", str(out)]) == 0
    info_out = capsys.readouterr().out
    assert "stored codes: [8] bit" in info_out and "40.0% with" in info_out
    table = [line for line in compress_out.splitlines() if line.startswith(("fp32", "+ "))]
    assert table and all(line in info_out for line in table)
    assert compress_main(["info", str(ckpt)]) == 2
    assert "is not a compressed checkpoint" in capsys.readouterr().err


def test_cli_errors_are_clear(tmp_path, capsys):
    assert compress_main(["compress", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "o.pt")]) == 2
    assert "missing.pt does not exist" in capsys.readouterr().err
    notckpt = tmp_path / "x.pt"
    torch.save({"hello": torch.zeros(2)}, notckpt)
    assert compress_main(["compress", str(notckpt), "-o", str(tmp_path / "o.pt")]) == 2
    assert "is not a fairseq checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compress_main(["compress", str(notckpt), "-o", "o.pt", "--sparsity", "1.5"])
    assert "must be in [0, 1)" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- dynamic int8

def test_dynamic_int8_quantises_every_linear_and_stays_close():
    model, _, dictionary = _model_and_state()
    fp32_out = forward_random_batch(model, dictionary)
    assert count_quantized_linears(model)["int8"] == 0
    quantize_dynamic_for_cpu(model)
    counts = count_quantized_linears(model)
    assert counts["float"] == 0 and counts["int8"] > 20
    int8_out = forward_random_batch(model, dictionary)
    assert not torch.equal(int8_out, fp32_out)
    assert torch.allclose(torch.log_softmax(int8_out, -1), torch.log_softmax(fp32_out, -1), atol=0.15)


def test_dynamic_int8_on_fairseq_transformer():
    model, _, dictionary = _model_and_state("transformer_paper_iwslt_128", extra=())
    fp32_out = forward_random_batch(model, dictionary)
    quantize_dynamic_for_cpu(model)
    assert count_quantized_linears(model)["float"] == 0
    int8_out = forward_random_batch(model, dictionary)
    assert torch.allclose(torch.log_softmax(int8_out, -1), torch.log_softmax(fp32_out, -1), atol=0.15)


# ---------------------------------------------------------------------------------------------- command line

TRAIN_OPTS = ["--arch", "lite_transformer_tiny", "--share-all-embeddings", "--optimizer", "adam", "--lr", "0.002",
              "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1", "--max-tokens", "2000",
              "--num-workers", "0", "--cpu", "--no-epoch-checkpoints", "--seed", "1", "--log-format", "simple",
              "--no-progress-bar", "--disable-validation"]


@pytest.fixture(scope="module")
def trained_checkpoint(tiny_checkpoint):
    """The session's tiny lite_transformer_tiny checkpoint (conftest.py); TRAIN_OPTS fine-tune the same arch."""
    return tiny_checkpoint[0] / "checkpoint_last.pt"


def _hypotheses(stdout):
    return sorted(line for line in stdout.splitlines() if line.startswith("H-"))


def _generate(run_cli, data, path, *extra):
    out = run_cli("generate", [data, "--user-dir", USER_DIR, "--path", path, "--gen-subset", "test", "--beam", "2",
                               "--max-len-b", "10", "--batch-size", "20", "--cpu", "--num-workers", "0", *extra])
    return out


@pytest.mark.slow  # trains or decodes through the command line
def test_generate_from_compressed_checkpoint(trained_checkpoint, tiny_data_bin, run_cli, tmp_path, capsys):
    out = tmp_path / "compressed.pt"
    assert compress_main(["compress", str(trained_checkpoint), "-o", str(out), "--sparsity", "0.5"]) == 0
    report = capsys.readouterr().out
    for label in ("fp32 (params x 4 B)", "+ 8-bit quantisation", "+ pruning", "compressed checkpoint"):
        assert label in report
    ratio = float(re.search(r"([\d.]+)x smaller than the fp32 checkpoint", report).group(1))
    assert ratio > 4.0
    # the same weights written densely: generate must produce the same translations from both files
    state = torch.load(out, weights_only=True)
    dense = storage.decompress_state(state, out)
    dense_path = tmp_path / "dense.pt"
    torch.save(dense, dense_path)
    from_compressed = _generate(run_cli, tiny_data_bin, out)
    from_dense = _generate(run_cli, tiny_data_bin, dense_path)
    hyps = _hypotheses(from_compressed.stdout)
    n_src = sum(line.startswith("S-") for line in from_compressed.stdout.splitlines())
    assert len(hyps) == n_src > 0
    assert hyps == _hypotheses(from_dense.stdout)
    # and with dynamic int8 linear layers, selected at generate time
    int8 = _generate(run_cli, tiny_data_bin, out, "--model-overrides", "{'cpu_int8': True}")
    assert len(_hypotheses(int8.stdout)) == n_src


def _scored_hypotheses(stdout):
    """{sentence id: (score, tokens)} from fairseq-generate's H- lines."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("H-"):
            sid, score, tokens = line.split("\t")
            out[sid] = (float(score), tokens)
    return out


@pytest.mark.slow  # decodes through the command line
def test_generate_with_cpu_int8_torchao_is_close_to_fp32(trained_checkpoint, tiny_data_bin, run_cli):
    # The tiny model (a few updates) ranks its hypotheses by near ties, so which one wins can change with int8's
    # rounding: the check is the log-probability int8 gives the same translations (the references, scored).
    int8 = "{'cpu_int8': 'torchao'}"
    fp32_scores = _scored_hypotheses(_generate(run_cli, tiny_data_bin, trained_checkpoint, "--score-reference").stdout)
    int8_scores = _scored_hypotheses(_generate(run_cli, tiny_data_bin, trained_checkpoint, "--score-reference",
                                               "--model-overrides", int8).stdout)
    assert sorted(int8_scores) == sorted(fp32_scores) and len(fp32_scores) > 0
    assert max(abs(int8_scores[i][0] - fp32_scores[i][0]) for i in fp32_scores) < 0.05
    run = _generate(run_cli, tiny_data_bin, trained_checkpoint, "--model-overrides", int8)
    assert sorted(_scored_hypotheses(run.stdout)) == sorted(fp32_scores)  # a hypothesis for every sentence
    assert "torch.ao.quantization is deprecated" not in run.stderr


@pytest.mark.slow  # trains or decodes through the command line
def test_prune_then_finetune_keeps_zeros(trained_checkpoint, tiny_data_bin, run_cli, tmp_path):
    pruned_dir = tmp_path / "pruned"
    assert compress_main(["prune", str(trained_checkpoint), "--sparsity", "0.5", "--out-dir", str(pruned_dir)]) == 0
    masks = load_masks(pruned_dir / "masks.pt")
    before = torch.load(pruned_dir / "pruned.pt", weights_only=True)["model"]

    def finetune(save, *task):
        run_cli("train", [tiny_data_bin, "--user-dir", USER_DIR, *TRAIN_OPTS, "--max-update", "3", "--save-dir",
                          save, "--finetune-from-model", pruned_dir / "pruned.pt", *task])
        return torch.load(save / "checkpoint_last.pt", weights_only=True)["model"]

    after = finetune(tmp_path / "ft", "--task", "translation_masked", "--prune-masks", pruned_dir / "masks.pt")
    changed = 0
    for name, mask in masks.items():
        assert int(after[name][~mask].count_nonzero()) == 0, f"{name}: pruned weights came back"
        changed += int((after[name][mask] != before[name][mask]).sum())
    assert changed > 1000  # the kept weights were trained
    # control: the same fine-tuning without the masks revives pruned weights (so the check above can fail)
    plain = finetune(tmp_path / "ft_plain")
    assert sum(int(plain[n][~m].count_nonzero()) for n, m in masks.items()) > 1000
    # and compressing the fine-tuned checkpoint with the masks keeps exactly those zeros
    out = tmp_path / "c.pt"
    assert compress_main(["compress", str(tmp_path / "ft" / "checkpoint_last.pt"), "-o", str(out),
                          "--masks", str(pruned_dir / "masks.pt")]) == 0
    loaded = checkpoint_utils.load_checkpoint_to_cpu(str(out))["model"]
    for name, mask in masks.items():
        assert torch.equal(loaded[name] != 0, mask & (after[name] != 0)), name


def test_scheduled_sparsity_is_zhu_gupta_cubic():
    assert scheduled_sparsity(0, 0.0, 0.8, 10, 110) == 0.0  # before the start: the initial sparsity
    assert scheduled_sparsity(10, 0.2, 0.8, 10, 110) == 0.2
    assert scheduled_sparsity(60, 0.0, 0.8, 10, 110) == pytest.approx(0.8 - 0.8 * 0.5 ** 3)
    assert scheduled_sparsity(110, 0.0, 0.8, 10, 110) == 0.8
    assert scheduled_sparsity(500, 0.0, 0.8, 10, 110) == 0.8
    values = [scheduled_sparsity(u, 0.1, 0.7, 0, 100) for u in range(0, 120, 5)]
    assert values == sorted(values) and values[0] == 0.1 and values[-1] == 0.7
    steps = [b - a for a, b in zip(values, values[1:])]
    assert steps[0] > steps[10] > 0  # fast at first, slow at the end


def test_gradual_pruning_in_memory_keeps_earlier_masks_and_never_revives():
    """The task's pruning step on a model whose weights change between steps (as training changes them): the
    sparsity follows the schedule, zeros never come back, and --prune-masks masks outside the pruned set (here the
    embeddings, with --no-prune-embeddings) stay in force."""
    model, _, dictionary = _model_and_state(vocab=300)
    cfg = MaskedTranslationConfig(prune_target_sparsity=0.5, prune_end_update=4, prune_frequency=2,
                                  no_prune_embeddings=True)
    task = MaskedTranslationTask(cfg, dictionary, dictionary)
    emb = dict(model.named_parameters())["encoder.embed_tokens.weight"]
    kept = torch.rand(emb.shape, generator=torch.Generator().manual_seed(0)) > 0.3
    task.prune_masks = {"encoder.embed_tokens.weight": kept}
    g = torch.Generator().manual_seed(1)
    zeros_before = None
    for update in range(7):
        task.gradual_prune(model, update)
        task.gradual_prune(model, update)  # a second batch of the same update: no second step
        task.apply_masks(model)
        weights = _prunable_weights(model)
        zeros = {n: w == 0 for n, w in weights.items()}
        if zeros_before is not None:
            assert all(bool((zeros[n] | ~zeros_before[n]).all()) for n in zeros)  # once zero, zero for good
        zeros_before = zeros
        expected = scheduled_sparsity(min(update - update % 2, 4), 0.0, 0.5, 0, 4)
        assert sparsity_of(weights.values()) == pytest.approx(expected, abs=1e-4), update
        assert not any("embed_tokens" in n for n in weights)
        assert int(emb[~task.prune_masks["encoder.embed_tokens.weight"]].count_nonzero()) == 0
        with torch.no_grad():  # "training": every weight moves
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.01)
    task.apply_masks(model)  # what optimizer_step does after the update
    assert sparsity_of(_prunable_weights(model).values()) == pytest.approx(0.5, abs=1e-4)


def _prunable_weights(model):
    """The weights the masked task prunes: prunable_names without the embeddings (--no-prune-embeddings)."""
    params = {name: p.data for name, p in model.named_parameters()}
    return {name: params[name] for name in prunable_names(params, include_embeddings=False)}


def _prunable_sparsity(state_dict):
    return sparsity_of(state_dict[n] for n in prunable_names(state_dict))


GRADUAL = ["--task", "translation_masked", "--prune-target-sparsity", "0.6", "--prune-end-update", "4",
           "--prune-frequency", "2"]


@pytest.mark.slow  # trains or decodes through the command line
def test_gradual_pruning_reaches_target_keeps_zeros_on_resume_and_compresses(trained_checkpoint, tiny_data_bin,
                                                                             run_cli, tmp_path):
    save = tmp_path / "gradual"
    proc = run_cli("train", [tiny_data_bin, "--user-dir", USER_DIR, *TRAIN_OPTS, *GRADUAL, "--max-update", "6",
                             "--save-dir", save, "--finetune-from-model", trained_checkpoint])
    log = proc.stdout + proc.stderr
    steps = [float(x) for x in re.findall(r"gradual pruning at update \d+: ([0-9.]+)% of", log)]
    assert len(steps) == 2 and 0 < steps[0] < steps[1]  # updates 2 and 4 (update 0 is the schedule's start)
    assert steps[1] == pytest.approx(60.0, abs=0.05)
    after = torch.load(save / "checkpoint_last.pt", weights_only=True)["model"]
    assert _prunable_sparsity(after) == pytest.approx(0.6, abs=1e-4)  # updates 5 and 6 revived nothing
    zeros = {n: after[n] == 0 for n in prunable_names(after)}
    # resuming from checkpoint_last.pt: the zeros are the masks again, and the other weights keep training
    run_cli("train", [tiny_data_bin, "--user-dir", USER_DIR, *TRAIN_OPTS, *GRADUAL, "--max-update", "8",
                      "--save-dir", save])
    resumed = torch.load(save / "checkpoint_last.pt", weights_only=True)["model"]
    assert all(int(resumed[n][z].count_nonzero()) == 0 for n, z in zeros.items())
    assert sum(int((resumed[n] != after[n]).sum()) for n in zeros) > 1000
    # compressing with --sparsity 0 stores exactly those zeros (8-bit rounding may add a few of its own)
    out = tmp_path / "c.pt"
    assert compress_main(["compress", str(save / "checkpoint_last.pt"), "-o", str(out), "--sparsity", "0"]) == 0
    loaded = checkpoint_utils.load_checkpoint_to_cpu(str(out))["model"]
    for name, z in zeros.items():
        assert int(loaded[name][z].count_nonzero()) == 0, name
    assert _prunable_sparsity(loaded) == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize("options, message", [
    (dict(prune_target_sparsity=0.5), "needs --prune-end-update"),
    (dict(prune_target_sparsity=1.5, prune_end_update=4), r"must be in \(0, 1\), got 1.5"),
    (dict(prune_target_sparsity=0.5, prune_start_update=4, prune_end_update=4),
     "prune-start-update < --prune-end-update"),
    (dict(prune_target_sparsity=0.5, prune_end_update=4, prune_frequency=0), "at least 1"),
])
def test_gradual_pruning_options_are_checked(options, message):
    dictionary = make_dictionary(20)
    with pytest.raises(ValueError, match=message):
        MaskedTranslationTask(MaskedTranslationConfig(**options), dictionary, dictionary)


def test_fairseq_train_refuses_bad_gradual_pruning_options_by_name(tiny_data_bin, run_cli, tmp_path):
    """The command line reaches the same check (one case; the others are checked in-process above)."""
    proc = run_cli("train", [tiny_data_bin, "--user-dir", USER_DIR, *TRAIN_OPTS, "--task", "translation_masked",
                             "--prune-target-sparsity", "0.5", "--max-update", "1", "--save-dir", tmp_path],
                   check=False)
    assert proc.returncode != 0
    assert re.search("--prune-target-sparsity needs --prune-end-update", proc.stderr), proc.stderr[-2000:]
    assert not list(tmp_path.glob("*.pt"))


def test_cpu_int8_override_refused_for_fairseq_transformer(tiny_data_bin, run_cli, tmp_path):
    _, state, _ = _model_and_state("transformer_paper_iwslt_128", extra=())
    path = tmp_path / "t.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointLoadError, match="cpu_int8.*supported by lite_transformer"):
        checkpoint_utils.load_checkpoint_to_cpu(str(path), {"cpu_int8": True})
