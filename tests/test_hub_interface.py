"""The hub interface and fairseq-interactive, as examples/translation/README.md shows them: a trained model,
a compressed one (lite-fairseq-compress) and a converted authors' one (lite-fairseq-convert) load with
``LiteTransformerModel.from_pretrained(...)`` and translate raw text (Moses tokenisation, subword-nmt BPE) given as
a string or a list; fairseq-interactive with the same options prints one hypothesis per input line and agrees with
the hub interface.
"""

import re
import shutil
from pathlib import Path

import pytest
import torch
from fairseq.data import Dictionary

from authors_checkpoint_reference import authors_args, authors_checkpoint, authors_state_dict
from helpers import USER_DIR, console_script, run
from lite_fairseq.models import LiteTransformerModel

SENTENCES = ["Der Hund sieht die Katze.", "Anna hat gestern ein Buch gelesen."]
# max_len_b=20 everywhere: the tiny model is barely trained, and its beams would otherwise run to 200 tokens


@pytest.fixture(scope="module")
def model_dir(tiny_checkpoint):
    """A folder with a tiny trained checkpoint, as a user would hand it over (the session's, conftest.py)."""
    return tiny_checkpoint[0]


def load(model_dir, checkpoint, data, codes):
    hub = LiteTransformerModel.from_pretrained(
        str(model_dir), checkpoint_file=checkpoint, data_name_or_path=str(data), bpe="subword_nmt",
        bpe_codes=str(codes), tokenizer="moses", source_lang="de", target_lang="en")
    return hub.eval()


@pytest.mark.slow  # the session's trained model
def test_from_pretrained_translates_a_string_and_a_list(model_dir, tiny_data_bin, tiny_corpus):
    hub = load(model_dir, "checkpoint_last.pt", tiny_data_bin, tiny_corpus / "codes")
    assert isinstance(hub.models[0], LiteTransformerModel)
    one = hub.translate(SENTENCES[0], beam=4, max_len_b=20)
    both = hub.translate(SENTENCES, beam=4, max_len_b=20)
    assert isinstance(one, str) and one.strip() and "@@" not in one
    assert isinstance(both, list) and len(both) == 2 and all(isinstance(s, str) and s.strip() for s in both)
    assert both[0] == one, "a sentence translates the same alone and in a batch"
    # encode = Moses tokenisation + BPE with the codes + the dictionary; decode undoes all three
    tokens = hub.encode(SENTENCES[1])
    assert tokens[-1] == hub.src_dict.eos() and hub.decode(tokens) == SENTENCES[1]


@pytest.mark.slow  # the session's trained model
def test_from_pretrained_takes_bpe_codes_from_the_model_folder(model_dir, tiny_data_bin, tiny_corpus, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(model_dir / "checkpoint_last.pt", folder / "model.pt")
    shutil.copy(tiny_corpus / "codes", folder / "code")  # the name prepare.sh gives the codes (DEST/code)
    hub = LiteTransformerModel.from_pretrained(str(folder), data_name_or_path=str(tiny_data_bin),
                                               bpe="subword_nmt", tokenizer="moses", source_lang="de",
                                               target_lang="en").eval()
    reference = load(model_dir, "checkpoint_last.pt", tiny_data_bin, tiny_corpus / "codes")
    assert hub.translate(SENTENCES, beam=4, max_len_b=20) == reference.translate(SENTENCES, beam=4, max_len_b=20)


@pytest.mark.slow  # the session's trained model
def test_from_pretrained_loads_a_compressed_checkpoint(model_dir, tiny_data_bin, tiny_corpus, tmp_path):
    compressed = tmp_path / "compressed.pt"
    run([console_script("lite-fairseq-compress"), "compress", model_dir / "checkpoint_last.pt", "-o", compressed,
         "--sparsity", "0.3"])
    hub = load(tmp_path, compressed.name, tiny_data_bin, tiny_corpus / "codes")
    matrices = [p for n, p in hub.models[0].named_parameters() if p.dim() == 2 and "embed" not in n]
    zeros = sum(int((w == 0).sum()) for w in matrices) / sum(w.numel() for w in matrices)
    assert zeros > 0.2, f"the pruned weights came back dense ({zeros:.0%} zeros)"
    out = hub.translate(SENTENCES, beam=4, max_len_b=20)
    assert len(out) == 2 and all(isinstance(s, str) for s in out)


def test_from_pretrained_loads_a_converted_authors_checkpoint(tiny_data_bin, tiny_corpus, tmp_path):
    vocab = len(Dictionary.load(str(Path(tiny_data_bin) / "dict.de.txt")))
    args = authors_args()
    theirs = tmp_path / "theirs.pt"
    torch.save(authors_checkpoint(args, authors_state_dict(args, vocab)), theirs)
    run([console_script("lite-fairseq-convert"), theirs, tmp_path / "ours.pt"])
    hub = load(tmp_path, "ours.pt", tiny_data_bin, tiny_corpus / "codes")
    assert isinstance(hub.models[0], LiteTransformerModel)
    out = hub.translate(SENTENCES, beam=4, max_len_b=20)
    assert len(out) == 2 and all(isinstance(s, str) for s in out)


@pytest.mark.slow  # the session's trained model
def test_fairseq_interactive_prints_one_hypothesis_per_line_as_the_hub_interface(model_dir, tiny_data_bin,
                                                                                  tiny_corpus):
    proc = run([console_script("fairseq-interactive"), tiny_data_bin, "--user-dir", USER_DIR,
                "--path", model_dir / "checkpoint_last.pt", "--bpe", "subword_nmt",
                "--bpe-codes", tiny_corpus / "codes", "--tokenizer", "moses", "-s", "de", "-t", "en",
                "--beam", 4, "--max-len-b", 20, "--cpu"], stdin="\n".join(SENTENCES) + "\n")
    hyps = re.findall(r"^H-(\d+)\t\S+\t(.*)$", proc.stdout, re.M)
    assert [int(i) for i, _ in hyps] == [0, 1], proc.stdout[-2000:]
    detok = [d for _, d in sorted(re.findall(r"^D-(\d+)\t\S+\t(.*)$", proc.stdout, re.M))]
    hub = load(model_dir, "checkpoint_last.pt", tiny_data_bin, tiny_corpus / "codes")
    assert detok == hub.translate(SENTENCES, beam=4, max_len_b=20)
