"""lite-fairseq-convert: checkpoints of the authors' transformer_multibranch_v2 become lite_transformer ones that
fairseq loads and that compute the authors' outputs (unpadded inputs); what cannot be represented is refused."""

import sys

import pytest
import torch
from fairseq import checkpoint_utils
from fairseq.data import Dictionary
from fairseq.tasks.translation import TranslationTask

import lite_fairseq  # noqa: F401  (registration, checkpoint allow-list)
from authors_checkpoint_reference import (PAD, authors_args, authors_checkpoint, authors_state_dict,
                                          reference_forward)
from lite_fairseq.checkpoint_safety import CheckpointLoadError
from lite_fairseq.convert import ConversionError, cli_main, convert_file, convert_state
from lite_fairseq.models.standalone import placeholder_dictionary
from helpers import REPO, USER_DIR, fairseq_cmd, run
from tiny_parallel_corpus import binarise

VOCAB = 20

CASES = {
    # the WMT configs: dynamic convolution with GLU, shared embeddings, the default 7-entry kernel list
    "wmt_dynamic_glu_shared": dict(),
    # the IWSLT configs: lightweight without GLU, separate embeddings with embed_out; here also pre-norm, three
    # branches in the encoder, a fixed decoder kernel, and old-style stacked q/k/v in the encoder-decoder attention
    "iwslt_lightweight_prenorm": dict(
        arch="transformer_multibranch_v2_iwslt_de_en", encoder_glu=False, decoder_glu=False,
        encoder_branch_type=["attn:1:8:2", "lightweight:default:16:4", "attn:1:8:2"],
        decoder_branch_type=["attn:1:16:4", "lightweight:5:16:4"], share_all_embeddings=False,
        share_decoder_input_output_embed=False, encoder_normalize_before=True, decoder_normalize_before=True,
        encoder_kernel_size_list=[3, 7], decoder_kernel_size_list=[3]),
    # no branch types on the decoder: the authors' layer then uses one full-width attention
    "plain_attention_decoder": dict(decoder_branch_type=None, share_all_embeddings=False,
                                    share_decoder_input_output_embed=True, encoder_layers=3,
                                    encoder_kernel_size_list=[3, 5, 7]),
}


def dictionary(size=VOCAB):
    d = placeholder_dictionary(size)
    assert d.pad() == PAD
    return d


def tokens(batch, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, VOCAB, (batch, length), generator=g)


def load_with_fairseq(path, src_dict, tgt_dict):
    """Load as fairseq-generate does: cfg upgrade, task.build_model(cfg.model), strict load_state_dict."""
    state = checkpoint_utils.load_checkpoint_to_cpu(str(path))
    task = TranslationTask(state["cfg"]["task"], src_dict, tgt_dict)
    models, cfg = checkpoint_utils.load_model_ensemble([str(path)], task=task)
    return models[0].eval(), cfg


def write_authors_checkpoint(tmp_path, name="authors.pt", vocab=VOCAB, **overrides):
    args = authors_args(**overrides)
    sd = authors_state_dict(args, vocab)
    path = tmp_path / name
    torch.save(authors_checkpoint(args, sd), path)
    return path, args, sd


@pytest.mark.parametrize("case", sorted(CASES))
def test_converted_model_computes_the_authors_outputs(case, tmp_path):
    src, args, sd = write_authors_checkpoint(tmp_path, **CASES[case])
    if case == "iwslt_lightweight_prenorm":  # old fairseq stacked q, k, v of the encoder-decoder attention
        sd = authors_state_dict(args, VOCAB, in_proj_encoder_attn=True)
        torch.save(authors_checkpoint(args, sd), src)
    out = tmp_path / "converted.pt"
    assert cli_main([str(src), str(out)]) == 0

    shared = args.share_all_embeddings
    src_dict = dictionary()
    model, cfg = load_with_fairseq(out, src_dict, src_dict if shared else dictionary())
    assert cfg.model._name == "lite_transformer"  # the architecture (a dataclass model config has no 'arch')
    # padded positions are masked where the authors mask them (before the convolution's input projection)
    assert cfg.model.conv_mask_before_linear is True
    assert all(layer.self_attn.branches[j].mask_before_linear for layer in model.encoder.layers
               for j, spec in enumerate(layer.self_attn.specs) if not spec.is_attention)

    src_tokens, prev_tokens = tokens(3, 9, seed=1), tokens(3, 7, seed=2)
    expected = reference_forward(args, sd, src_tokens, prev_tokens)
    with torch.no_grad():
        got, _ = model(src_tokens, torch.full((3,), 9), prev_tokens)
    assert got.shape == expected.shape
    tolerance = 1e-4 * max(1.0, expected.abs().max().item())
    err = (got - expected).abs().max().item()
    assert err < tolerance, f"max difference {err}"
    # the comparison sees the convolution branches: without their output projections the reference is far off
    no_conv = {k: (torch.zeros_like(v) if k.endswith("linear2.weight") else v) for k, v in sd.items()}
    if any(k.endswith("linear2.weight") for k in sd):
        assert (got - reference_forward(args, no_conv, src_tokens, prev_tokens)).abs().max() > 100 * tolerance


def test_options_follow_the_authors_format(tmp_path, capsys):
    src, _, _ = write_authors_checkpoint(tmp_path)
    assert cli_main([str(src), "--print-options"]) == 0
    printed = capsys.readouterr().out
    assert "--encoder-branch-type attn:1:16:4 dynamic:default:16:4" in printed
    assert "--decoder-branch-type attn:1:16:4 dynamic:default:16:4" in printed
    assert "--encoder-kernel-size-list 3 7 " in printed  # the authors' 7-entry default, cut to 2 layers
    assert "--encoder-glu True" in printed and "--share-all-embeddings True" in printed
    assert "--weight-dropout 0.08" in printed and "--decoder-attention-heads 4" in printed
    assert not (tmp_path / "converted.pt").exists()


def test_lightweight_sides_never_get_a_glu(tmp_path):
    """The authors' lightweight branch has no GLU whatever --encoder-glu says."""
    src, args, sd = write_authors_checkpoint(
        tmp_path, encoder_branch_type=["attn:1:16:4", "lightweight:default:16:4"], encoder_glu=True)
    state, options = convert_state(torch.load(src))
    assert options[options.index("--encoder-glu") + 1] == "False"
    assert options[options.index("--decoder-glu") + 1] == "True"
    assert state["model"]["encoder.layers.0.self_attn.branches.1.linear1.weight"].shape == (16, 16)


@pytest.mark.slow  # fairseq-generate end to end
def test_fairseq_generate_runs_from_the_converted_file(tmp_path):
    data = binarise(tmp_path / "corpus")
    vocab = len(Dictionary.load(str(data / "dict.src.txt")))
    args = authors_args()
    src = tmp_path / "authors.pt"  # the pre-1.6 torch file format of the authors' released checkpoints
    torch.save(authors_checkpoint(args, authors_state_dict(args, vocab)), src, _use_new_zipfile_serialization=False)
    out = tmp_path / "converted.pt"
    run([sys.executable, "-m", "lite_fairseq.convert", src, out], timeout=120, cwd=REPO)
    proc = run(fairseq_cmd("generate", [
        data, "--user-dir", USER_DIR, "--path", out, "--gen-subset", "test", "--beam", "2", "--batch-size", "4",
        # fairseq-generate drops sentences when --batch-size is below --required-batch-size-multiple (8)
        "--required-batch-size-multiple", "1", "--max-len-b", "12", "--cpu", "--source-lang", "src",
        "--target-lang", "tgt"]), timeout=180, cwd=REPO)
    hypotheses = [line for line in proc.stdout.splitlines() if line.startswith("H-")]
    assert len(hypotheses) == 8, proc.stdout[-2000:]
    assert "Generate test with beam=2" in proc.stdout + proc.stderr


@pytest.mark.parametrize("overrides,message", [
    (dict(conv_linear=False), "conv_linear=False"),
    (dict(adaptive_softmax_cutoff="10,15"), "adaptive_softmax_cutoff"),
    (dict(encoder_ffn_list=[True, False]), "encoder_ffn_list"),
    (dict(project_embed=64), "project_embed"),
    (dict(encoder_branch_type=["attn:1:8:4", "lightweight:default:8:4", "dynamic:default:16:4"]),
     "both lightweight and dynamic"),
    (dict(encoder_branch_type=["attn:1:16:4", "dynamic:default:16"]), "type:kernel:dim:heads"),
    (dict(decoder_branch_type=["attn:1:16:4", "dynamic:default:8:4"]), "do not add up|add up to 24"),
    (dict(encoder_branch_type=["attn:1:16:4", "dynamic:4:16:4"]), "kernel size 4"),
    (dict(encoder_kernel_size_list=[3, 7, 15], encoder_layers=4), "3 entries for 4 encoder layers"),
    (dict(arch="transformer_wmt_en_de"), "not the authors' Lite Transformer"),
    (dict(arch="transformer_lm_multibranch_v2"), "language model"),
])
def test_unrepresentable_options_are_refused_by_name(tmp_path, overrides, message):
    args = authors_args(**{k: v for k, v in overrides.items() if k != "encoder_branch_type"
                           and k != "decoder_branch_type"})
    for key in ("encoder_branch_type", "decoder_branch_type"):
        if key in overrides:
            setattr(args, key, overrides[key])
    try:
        sd = authors_state_dict(args, VOCAB)
    except Exception:  # malformed branch types cannot be synthesised; the args alone must be refused
        sd = authors_state_dict(authors_args(), VOCAB)
    with pytest.raises(ConversionError, match=message):
        convert_state(authors_checkpoint(args, sd))


def test_parameters_without_a_counterpart_or_a_place_are_named(tmp_path):
    args = authors_args()
    sd = authors_state_dict(args, VOCAB)
    extra = dict(sd, **{"encoder.input_transform.0.weight": torch.zeros(32, 64)})
    with pytest.raises(ConversionError, match=r"no counterpart.*encoder\.input_transform\.0\.weight"):
        convert_state(authors_checkpoint(args, extra))
    missing = {k: v for k, v in sd.items() if k != "decoder.layers.1.fc2.bias"}
    with pytest.raises(ConversionError, match=r"lacks parameters.*decoder\.layers\.1\.ffn\.fc2\.bias"):
        convert_state(authors_checkpoint(args, missing))
    wrong = dict(sd, **{"encoder.layers.0.fc1.weight": torch.zeros(48, 32)})
    with pytest.raises(ConversionError, match=r"encoder\.layers\.0\.ffn\.fc1\.weight.*\(48, 32\).*\(32, 32\)"):
        convert_state(authors_checkpoint(args, wrong))
    biased = dict(sd, **{"encoder.layers.0.self_attn.branches.1.conv_bias": torch.zeros(16)})
    with pytest.raises(ConversionError, match="convolution bias"):
        convert_state(authors_checkpoint(args, biased))


def test_bad_files_get_a_clear_error(tmp_path, capsys):
    src, _, _ = write_authors_checkpoint(tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(src.read_bytes()[:2000])
    assert cli_main([str(truncated), str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err
    assert "truncated.pt" in err and "error" in err
    assert not (tmp_path / "out.pt").exists()
    with pytest.raises(CheckpointLoadError):
        convert_file(str(truncated), None)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    assert cli_main([str(tmp_path / "other.pt"), "--print-options"]) == 2
    assert "not a fairseq checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # refuses to overwrite without --overwrite
        cli_main([str(src), str(src)])
