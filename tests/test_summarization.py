"""examples/cnn_dm end to end on a tiny CNN/DailyMail-like sample made here (no download): normalise + BPE +
binarise, train the lite_transformer_wmt_496 recipe with tiny-model overrides, decode with the paper's settings
(beam 4, lenpen 2.0, 55-140 tokens, no repeated trigram), score ROUGE with rouge-score. Also: the ROUGE module,
the text normaliser, and what happens to a source longer than the model's positions."""

import re
import sys

import pytest
import torch
from fairseq.models import ARCH_MODEL_REGISTRY

from lite_fairseq.scoring.rouge import RougeInputError, main as rouge_main, rouge_scores, split_sentences
from helpers import EXAMPLES, run, run_script
from lm_cli_helpers import write_cnn_dm
from model_helpers import FakeTask, make_dictionary, parse_model_args, random_tokens

MAX_SOURCE = 64  # far below the articles' length, so --truncate-source has work to do
TINY_TRAIN = ["--arch", "lite_transformer_tiny", "--encoder-embed-dim", "64", "--max-update", "20",
              "--update-freq", "1",
              "--max-tokens", "2048", "--warmup-updates", "5", "--lr", "0.003", "--lr-period-updates", "20",
              "--max-source-positions", str(MAX_SOURCE), "--cpu", "--num-workers", "0", "--no-epoch-checkpoints"]
N_TEST = 6


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread for this module's in-process models (see test_language_model.py), restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def summarization_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("cnn_dm")
    raw = write_cnn_dm(work / "raw", n_eval=N_TEST)
    bin_dir = work / "bin"
    prep = run_script("cnn_dm/prepare.sh", raw, bin_dir, cwd=work, BPE_MERGES=300, WORKERS=1)
    train = run_script("cnn_dm/train.sh", bin_dir, work / "ckpt", *TINY_TRAIN, cwd=work)
    # the paper's decoding settings are decode.sh's own; only the device and the tiny source limit are added
    decode = run_script("cnn_dm/decode.sh", bin_dir, work / "ckpt/checkpoint_last.pt", work / "out", "--cpu",
                        "--max-source-positions", str(MAX_SOURCE), cwd=work)
    return {"work": work, "prep": prep, "train": train, "decode": decode}


@pytest.mark.slow
def test_prepare_normalises_learns_bpe_and_binarises(summarization_run):
    work = summarization_run["work"]
    bpe = (work / "bin" / "work" / "train.bpe.source").read_text().splitlines()
    assert len(bpe) == 160
    assert bpe[0].startswith("mayor ")  # lowercased
    assert " ." in bpe[0] and "monday ." in bpe[0].replace("@@ ", "")  # Moses split the full stop off
    assert (work / "bin/dict.source.txt").read_text() == (work / "bin/dict.target.txt").read_text()  # joined
    refs = (work / "bin/refs/test.target").read_text().splitlines()
    assert len(refs) == N_TEST and refs[0].startswith("mayor ")


@pytest.mark.slow
def test_training_uses_the_wmt_recipe_with_shared_embeddings(summarization_run):
    log = summarization_run["train"].stdout + summarization_run["train"].stderr
    assert "LiteTransformerModel" in log and "num_updates 20" in log
    assert "encoder.embed_tokens.weight <- decoder.embed_tokens.weight" in log  # --share-all-embeddings
    assert "'truncate_source': True" in log


@pytest.mark.slow
def test_decoding_uses_the_papers_settings_and_truncates_long_articles(summarization_run):
    work = summarization_run["work"]
    log = (work / "out/generate.log").read_text()
    for setting in ("'beam': 4", "'lenpen': 2.0", "'min_len': 55", "'max_len_b': 140", "'no_repeat_ngram_size': 3"):
        assert setting in (work / "out/generate.err").read_text() + log, setting
    sources = [line.split("\t")[1].split() for line in log.splitlines() if line.startswith("S-")]
    assert len(sources) == N_TEST  # every article was summarised: none skipped, none crashed
    full_lengths = [len(line.split()) for line in (work / "bin" / "work" / "test.bpe.source").read_text().splitlines()]
    assert max(full_lengths) > MAX_SOURCE  # the sample really is too long for the model ...
    assert all(len(s) <= MAX_SOURCE for s in sources)  # ... and was truncated to fit (with </s>)
    hyps = (work / "out/test.hyp").read_text().splitlines()
    assert len(hyps) == N_TEST
    assert all(len(h.split()) >= 55 - 1 for h in hyps)  # --min-len 55 (BPE tokens; words after undoing BPE)


@pytest.mark.slow
def test_rouge_is_printed(summarization_run):
    out = summarization_run["decode"].stdout
    match = re.search(r"ROUGE-1 ([0-9.]+)  ROUGE-2 ([0-9.]+)  ROUGE-L ([0-9.]+)  ROUGE-Lsum ([0-9.]+)  "
                      rf"\(F1 x 100, {N_TEST} summaries\)", out)
    assert match, out
    scores = [float(x) for x in match.groups()]
    assert all(0.0 <= s <= 100.0 for s in scores)
    assert scores[0] > 0.0  # even a 20-update model copies some words ("mayor", "the", "new")
    assert (summarization_run["work"] / "out/rouge.txt").read_text().strip() == out.strip().splitlines()[-1]


# --- the ROUGE module -------------------------------------------------------------------------------------------

def test_rouge_values_match_hand_counts():
    # "the cat sat" vs "the cat ran": unigrams 2/3 both ways, bigrams 1/2, LCS 2 of 3
    scores = rouge_scores(["the cat sat"], ["the cat ran"])
    assert scores["rouge1"] == pytest.approx(200 / 3)
    assert scores["rouge2"] == pytest.approx(50.0)
    assert scores["rougeL"] == pytest.approx(200 / 3)
    assert rouge_scores(["a b c . d e ."], ["a b c . d e ."])["rougeLsum"] == pytest.approx(100.0)
    # stemming on by default, as ROUGE-1.5.5 -m: "running" matches "runs"
    assert rouge_scores(["dogs running"], ["dog runs"])["rouge1"] == pytest.approx(100.0)
    assert rouge_scores(["dogs running"], ["dog runs"], use_stemmer=False)["rouge1"] == pytest.approx(0.0)


def test_rouge_lsum_uses_sentences():
    assert split_sentences("one two . three four ! five") == "one two .\nthree four !\nfive"
    # summary-level LCS differs from the whole-summary LCS once sentence order changes
    scores = rouge_scores(["c d . a b ."], ["a b . c d ."])
    assert scores["rougeLsum"] == pytest.approx(100.0)
    assert scores["rougeL"] < 100.0


def test_rouge_refuses_unpaired_files(tmp_path, capsys):
    (tmp_path / "h").write_text("a b\nc d\n")
    (tmp_path / "r").write_text("a b\n")
    with pytest.raises(RougeInputError, match="1 references"):
        rouge_scores(["a", "b"], ["a"])
    assert rouge_main([str(tmp_path / "h"), str(tmp_path / "r")]) == 1
    assert "has 2 lines but" in capsys.readouterr().err
    assert rouge_main([str(tmp_path / "h"), str(tmp_path / "missing")]) == 1
    assert "cannot read" in capsys.readouterr().err


# --- the normaliser ---------------------------------------------------------------------------------------------

def test_normaliser_tokenises_lowercases_and_cuts_articles():
    text = "The U.S. mayor's plan, \"costly\", failed.\n\nSecond  line\there.\n"
    proc = run([sys.executable, EXAMPLES / "cnn_dm/normalize.py", "--tokenize", "--lowercase", "--max-tokens", "6"],
               stdin=text)
    lines = proc.stdout.splitlines()
    assert lines == ["the u.s. mayor 's plan ,", ".", "second line here ."]
    assert "1 empty line(s) kept as '.'" in proc.stderr


# --- too-long sources -------------------------------------------------------------------------------------------

def test_source_longer_than_the_encoder_positions_is_refused_clearly():
    d = make_dictionary()
    args = parse_model_args("lite_transformer_tiny")
    args.max_source_positions = 16  # as --max-source-positions 16 (a task option) sets it
    model = ARCH_MODEL_REGISTRY["lite_transformer_tiny"].build_model(args, FakeTask(d)).eval()
    assert model.max_positions()[0] == 16
    prev = random_tokens(d, 1, 4)
    with torch.no_grad():
        model(random_tokens(d, 1, 16), torch.tensor([16]), prev)  # exactly the limit is fine
        with pytest.raises(ValueError, match=r"source of 17 tokens is longer than the encoder's 16 positions "
                                             r"\(--max-source-positions\); .*--truncate-source"):
            model(random_tokens(d, 1, 17), torch.tensor([17]), prev)


def test_decode_script_reports_missing_references(tmp_path):
    proc = run_script("cnn_dm/decode.sh", tmp_path, "/etc/hostname", tmp_path / "out", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "reference file" in proc.stderr


def test_prepare_refuses_unpaired_files(tmp_path):
    raw = write_cnn_dm(tmp_path / "raw", n_train=4, n_eval=2)
    (raw / "valid.target").write_text("only one line\n")
    proc = run_script("cnn_dm/prepare.sh", raw, tmp_path / "bin", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "valid.source has 2 lines but" in proc.stderr and "valid.target has 1" in proc.stderr
