"""The translation recipes of examples/{iwslt14_de_en,wmt14_en_fr,wmt16_en_de} end to end on small stand-in archives
laid out as the upstream ones (IWSLT'14's de-en.tgz with its XML-tagged talks; the WMT corpora's archives with their
raw parallel files and the newstest2014 SGML files): prepare.sh (ARCHIVES=..., nothing downloaded), train.sh on the
CPU for a few updates of a tiny model, evaluate.sh (checkpoint averaging, beam search, tokenised BLEU, sacreBLEU).
"""

import gzip
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import pytest
import torch

import lite_fairseq  # noqa: F401  (the checkpoint allow-list)

from helpers import EXAMPLES, REPO, run, run_script, subprocess_env
from lite_fairseq.checkpoint_safety import load_checkpoint
from corpus.generate import generate  # examples/quickstart/corpus

RECIPE_PY = EXAMPLES / "translation" / "recipe.py"
IWSLT_TEST_SETS = ["IWSLT14.TED.dev2010", "IWSLT14.TEDX.dev2012", "IWSLT14.TED.tst2010", "IWSLT14.TED.tst2011",
                   "IWSLT14.TED.tst2012"]
SMOKE_TRAIN = ["--cpu", "--max-tokens", 4096, "--update-freq", 1, "--num-workers", 0, "--seed", 1,
               "--log-interval", 1, "--encoder-layers", 2, "--decoder-layers", 2, "--encoder-embed-dim", 64,
               "--encoder-kernel-size-list", "[3, 7]", "--decoder-kernel-size-list", "[3, 7]"]


def pairs(n, seed):
    """n (German-like, English) sentence pairs; every 4th gets a hyphenated compound, as real WMT text has."""
    out = []
    for i, (de, en) in enumerate(generate(n, seed)):
        if i % 4 == 0:
            de, en = de[:-1] + " im Jahr 2014-2015.", en[:-1] + " in a state-of-the-art way."
        out.append((de, en))
    return out


def add_file(tar, name, text):
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_tar(path, files, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, text in files.items():
            add_file(tar, name, text)


def iwslt_train_tags(sentences, lang):
    """train.tags.de-en.LANG: talks, each headed by its metadata lines, then one sentence a line."""
    lines = []
    for talk, start in enumerate(range(0, len(sentences), 50)):
        lines += [f"<url>http://www.ted.com/talks/lang/{lang}/talk_{talk}.html</url>",
                  f"<keywords>talks, science, talk{talk}</keywords>", f"<speaker>Speaker {talk}</speaker>",
                  f"<talkid>{talk + 1}</talkid>", f"<title>Title {talk} of the talk</title>",
                  f"<description>TED Talk Subtitles and Transcript: talk {talk}</description>"]
        lines += sentences[start:start + 50]
    return "\n".join(lines) + "\n"


def iwslt_xml(setid, lang, sentences, src):
    kind, langattr = ("srcset", f'srclang="{lang}"') if src else ("refset", f'trglang="{lang}" refid="ref"')
    segs = "\n".join(f'<seg id="{i}"> {s} </seg>' for i, s in enumerate(sentences, 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<mteval>\n<{kind} setid="{setid}" srclang="german" {langattr}>\n'
            f'<doc docid="{abs(hash(setid)) % 1000}" genre="lectures">\n<url>http://www.ted.com/talks/x.html</url>\n'
            f'<talkid>7</talkid>\n<title>A talk</title>\n{segs}\n</doc>\n</{kind}>\n</mteval>\n')


def sgm(setid, lang, sentences, src):
    kind = "srcset" if src else "refset"
    segs = "\n".join(f'<seg id="{i}">{s}</seg>' for i, s in enumerate(sentences, 1))
    trglang = "" if src else f' trglang="{lang}"'
    return (f'<{kind} setid="{setid}" srclang="any"{trglang}>\n'
            f'<doc sysid="{"src" if src else "ref"}" docid="1-news" genre="news" origlang="en">\n<hl>\n{segs}\n'
            f'</hl>\n</doc>\n</{kind}>\n')


def script(recipe, name, *args, env=None, check=True, timeout=300):
    return run_script(f"{recipe}/{name}", *args, cwd=REPO, check=check, timeout=timeout,
                      **{"WORKERS": "1", **(env or {})})


def lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()


def scores(out_dir):
    """(tokenised BLEU, sacreBLEU JSON) that evaluate.sh wrote."""
    bleu = re.search(r"BLEU = ([0-9.]+)", (out_dir / "bleu.txt").read_text())
    assert bleu, (out_dir / "bleu.txt").read_text()
    return float(bleu.group(1)), json.loads((out_dir / "sacrebleu.json").read_text())


# ---------------------------------------------------------------- IWSLT'14 De-En

@pytest.fixture(scope="module")
def iwslt(tmp_path_factory):
    root = tmp_path_factory.mktemp("iwslt")
    train, tests = pairs(300, seed=11), pairs(20, seed=12)
    files = {f"de-en/train.tags.de-en.{l}": iwslt_train_tags([p[i] for p in train], l)
             for i, l in enumerate(("de", "en"))}
    for k, setid in enumerate(IWSLT_TEST_SETS):
        chunk = tests[4 * k:4 * k + 4]
        for i, l in enumerate(("de", "en")):
            files[f"de-en/{setid}.de-en.{l}.xml"] = iwslt_xml(setid, l, [p[i] for p in chunk], src=(i == 0))
    (root / "archives").mkdir()
    write_tar(root / "archives" / "de-en.tgz", files)
    data = root / "data-bin"
    prep = script("iwslt14_de_en", "prepare.sh", data, env={"ARCHIVES": str(root / "archives"), "BPE_TOKENS": "200"})
    return root, data, tests, prep.stdout


def test_iwslt_prepare_reads_the_local_archive_and_binarises_the_upstream_splits(iwslt):
    root, data, tests, log = iwslt
    for name in ("dict.de.txt", "dict.en.txt", "train.de-en.de.bin", "valid.de-en.en.idx", "test.de-en.de.bin",
                 "code"):
        assert (data / name).is_file(), name
    assert lines(data / "dict.de.txt") != lines(data / "dict.en.txt"), "IWSLT keeps separate dictionaries"
    tmp = data / "work" / "tmp"
    train = lines(tmp / "train.tags.de-en.en")
    # metadata lines dropped, titles and descriptions unwrapped, speakers kept (as fairseq's script does)
    assert not any(re.search(r"<url>|<talkid>|<keywords>|<title>|<description>", s) for s in train)
    assert "title 0 of the talk" in train and any(s.startswith("ted talk subtitles") for s in train)
    assert all(s == s.lower() for s in train), "IWSLT text is lowercased"
    n_valid = len(train) // 23  # every 23rd pair
    assert len(lines(tmp / "valid.en")) == n_valid and len(lines(tmp / "train.en")) == len(train) - n_valid
    # the test set is the five dev/test talks in the upstream order, tokenised; the raw references kept for sacreBLEU
    assert lines(data / "refs" / "test.en") == [p[1] for p in tests]
    assert lines(tmp / "test.en")[0].endswith(" .") and len(lines(tmp / "test.de")) == 20
    assert "binarised into" in log and "downloading" not in log


@pytest.fixture(scope="module")
def iwslt_trained(iwslt, tmp_path_factory):
    _, data, _, _ = iwslt
    save = tmp_path_factory.mktemp("iwslt_ckpt")
    proc = script("iwslt14_de_en", "train.sh", data, save, *SMOKE_TRAIN, "--max-epoch", 2,
                  env={"ARCH": "lite_transformer_tiny"})
    return save, proc.stdout + proc.stderr


@pytest.mark.slow  # trains through train.sh
def test_iwslt_train_runs_the_authors_schedule_and_keeps_epoch_checkpoints(iwslt_trained):
    save, log = iwslt_trained
    assert "batch: 1 device(s) x 4096 tokens x update-freq 1 = 4096 tokens per update" in log
    assert re.search(r"'lr_scheduler': \{'_name': 'inverse_sqrt'", log), "train.sh did not select inverse_sqrt"
    assert re.search(r"'warmup_updates': 4000", log) and re.search(r"'weight_decay': 0\.0001", log)
    assert re.search(r"\bdropout=0\.2\b|'dropout': 0\.2\b", log)
    assert (save / "checkpoint1.pt").is_file() and (save / "checkpoint2.pt").is_file()


@pytest.mark.slow  # trains through train.sh
def test_iwslt_evaluate_averages_checkpoints_and_scores_bleu_and_sacrebleu(iwslt, iwslt_trained, tmp_path):
    _, data, tests, _ = iwslt
    save, _ = iwslt_trained
    out = tmp_path / "eval"
    proc = script("iwslt14_de_en", "evaluate.sh", data, save, out, "--cpu", "--max-len-b", 30, env={"AVG": "2"})
    averaged = load_checkpoint(out / "average_last_2.pt")["model"]
    ckpts = [load_checkpoint(save / f"checkpoint{e}.pt")["model"] for e in (1, 2)]
    for name, value in averaged.items():
        torch.testing.assert_close(value, (ckpts[0][name] + ckpts[1][name]) / 2)
    assert len(lines(out / "test.hyp.tok")) == len(lines(out / "test.ref.tok")) == len(tests)
    assert len(lines(out / "test.hyp.detok")) == len(tests)
    assert "beam=4" in (out / "generate.log").read_text() + (out / "generate.err").read_text()
    bleu, sacre = scores(out)
    assert 0 <= bleu <= 100 and 0 <= sacre["score"] <= 100
    assert "case:lc" in sacre["signature"] and "tok:13a" in sacre["signature"]
    assert "tokenised BLEU: BLEU = " in proc.stdout and "sacreBLEU (detokenised)" in proc.stdout


# ---------------------------------------------------------------- WMT'14 En-Fr

@pytest.fixture(scope="module")
def wmt_en_fr(tmp_path_factory):
    root = tmp_path_factory.mktemp("wmt_en_fr")
    arch = root / "archives"
    arch.mkdir()
    train, tests = pairs(1400, seed=21), pairs(12, seed=22)
    corpora = [("training-parallel-europarl-v7.tgz", "training/europarl-v7.fr-en"),
               ("training-parallel-commoncrawl.tgz", "commoncrawl.fr-en"),
               ("training-parallel-un.tgz", "un/undoc.2000.fr-en"),
               ("training-parallel-nc-v9.tgz", "training/news-commentary-v9.fr-en")]
    for k, (archive, name) in enumerate(corpora + [("training-giga-fren.tar", "giga-fren.release2.fixed")]):
        chunk = train[280 * k:280 * (k + 1)]
        en, fr = "\n".join(p[1] for p in chunk) + "\n", "\n".join(p[0] for p in chunk) + "\n"
        if archive.endswith(".tar"):  # the 10^9 corpus: a plain tar of two gzipped files
            with tarfile.open(arch / archive, "w") as tar:
                for side, text in (("en", en), ("fr", fr)):
                    data = gzip.compress(text.encode("utf-8"))
                    info = tarfile.TarInfo(f"{name}.{side}.gz")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        else:
            write_tar(arch / archive, {f"{name}.en": en, f"{name}.fr": fr})
    write_tar(arch / "test-full.tgz", {
        "test-full/newstest2014-fren-src.en.sgm": sgm("newstest2014", "en", [p[1] for p in tests], src=True),
        "test-full/newstest2014-fren-ref.fr.sgm": sgm("newstest2014", "fr", [p[0] for p in tests], src=False)})
    data = root / "data-bin"
    script("wmt14_en_fr", "prepare.sh", data, env={"ARCHIVES": str(arch), "BPE_TOKENS": "300"})
    return data, tests


def test_wmt_en_fr_prepare_normalises_tokenises_with_hyphen_splitting_and_joins_the_dictionary(wmt_en_fr):
    data, tests = wmt_en_fr
    assert lines(data / "dict.en.txt") == lines(data / "dict.fr.txt"), "one joined dictionary"
    tok = lines(data / "work" / "tmp" / "train.tags.tok.en")
    assert len(tok) == 1400 and any("state @-@ of @-@ the @-@ art" in s for s in tok)
    assert len(lines(data / "work" / "bpe" / "valid.clean.en")) == 1  # every 1333rd pair
    assert lines(data / "refs" / "test.fr") == [p[0] for p in tests]
    assert len(lines(data / "work" / "bpe" / "test.en")) == len(tests)


@pytest.mark.slow  # trains through train.sh
def test_wmt_en_fr_train_and_evaluate_on_cpu(wmt_en_fr, tmp_path):
    data, tests = wmt_en_fr
    save = tmp_path / "ckpt"
    proc = script("wmt14_en_fr", "train.sh", data, save, *SMOKE_TRAIN, "--max-update", 2,
                  env={"ARCH": "lite_transformer_tiny"})
    log = proc.stdout + proc.stderr
    # 524,288 tokens per update on one device: 4096 x 128 (overridden here by --update-freq 1)
    assert "batch: 1 device(s) x 4096 tokens x update-freq 128 = 524288 tokens per update" in log
    assert re.search(r"'lr_period_updates': 45000", log) and re.search(r"'warmup_updates': 5000", log)
    assert (save / "checkpoint_best.pt").is_file()
    out = tmp_path / "eval"
    script("wmt14_en_fr", "evaluate.sh", data, save, out, "--cpu", "--max-len-b", 30)
    assert "'lenpen': 0.6" in (out / "generate.log").read_text() + (out / "generate.err").read_text()
    assert len(lines(out / "test.hyp.detok")) == len(tests)
    bleu, sacre = scores(out)
    assert 0 <= bleu <= 100 and "case:mixed" in sacre["signature"]


# ---------------------------------------------------------------- WMT'16 En-De

@pytest.fixture(scope="module")
def wmt_en_de(tmp_path_factory):
    root = tmp_path_factory.mktemp("wmt_en_de")
    arch = root / "archives"
    arch.mkdir()
    train, tests = pairs(300, seed=31), pairs(12, seed=32)
    corpora = [("training-parallel-europarl-v7.tgz", "training/europarl-v7.de-en"),
               ("training-parallel-commoncrawl.tgz", "commoncrawl.de-en"),
               ("training-parallel-nc-v12.tgz", "training/news-commentary-v12.de-en")]
    for k, (archive, name) in enumerate(corpora):
        chunk = train[100 * k:100 * (k + 1)]
        write_tar(arch / archive, {f"{name}.en": "\n".join(p[1] for p in chunk) + "\n",
                                   f"{name}.de": "\n".join(p[0] for p in chunk) + "\n"})
    write_tar(arch / "test-full.tgz", {
        "test-full/newstest2014-deen-src.en.sgm": sgm("newstest2014", "en", [p[1] for p in tests], src=True),
        "test-full/newstest2014-deen-ref.de.sgm": sgm("newstest2014", "de", [p[0] for p in tests], src=False)})
    data = root / "data-bin"
    script("wmt16_en_de", "prepare.sh", data, env={"ARCHIVES": str(arch), "BPE_TOKENS": "300"})
    return data, tests


@pytest.mark.slow  # trains through train.sh
def test_wmt_en_de_train_and_evaluate_with_compound_splitting(wmt_en_de, tmp_path):
    data, tests = wmt_en_de
    assert lines(data / "dict.en.txt") == lines(data / "dict.de.txt")
    assert len(lines(data / "work" / "bpe" / "valid.en")) == 3  # every 100th pair, before length cleaning
    save = tmp_path / "ckpt"
    proc = script("wmt16_en_de", "train.sh", data, save, *SMOKE_TRAIN, "--max-update", 2,
                  env={"ARCH": "lite_transformer_tiny"})
    log = proc.stdout + proc.stderr
    assert re.search(r"'lr_period_updates': 40000", log) and re.search(r"'warmup_updates': 10000", log)
    out = tmp_path / "eval"
    script("wmt16_en_de", "evaluate.sh", data, save / "checkpoint_last.pt", out, "--cpu", "--max-len-b", 30)
    refs = lines(out / "test.ref.split")
    assert len(refs) == len(tests) and any("2014 @ ##AT##-##AT## @ 2015" in r for r in refs)
    assert "compound splitting" in (out / "bleu.txt").read_text()
    bleu, sacre = scores(out)
    assert 0 <= bleu <= 100 and 0 <= sacre["score"] <= 100 and sacre["name"] == "BLEU"


def test_wmt_en_de_prepare_binarises_the_authors_bpe32k_archive(tmp_path):
    bpe = [("a@@ b c", "x y@@ z"), ("c d", "z w"), ("a b", "x w")]
    files = {}
    for split in ("train.tok.clean.bpe.32000", "newstest2013.tok.bpe.32000", "newstest2014.tok.bpe.32000"):
        files[f"{split}.en"] = "\n".join(p[0] for p in bpe) + "\n"
        files[f"{split}.de"] = "\n".join(p[1] for p in bpe) + "\n"
    files["bpe.32000"] = "#version: 0.2\na b\n"
    files["newstest2014.de"] = "xy z\nz w\nx w\n"
    write_tar(tmp_path / "wmt16_en_de_bpe32k.tar.gz", files)
    data = tmp_path / "data-bin"
    script("wmt16_en_de", "prepare.sh", data, env={"BPE32K_ARCHIVE": str(tmp_path / "wmt16_en_de_bpe32k.tar.gz")})
    assert lines(data / "dict.en.txt") == lines(data / "dict.de.txt")
    assert (data / "test.en-de.de.bin").is_file() and (data / "code").is_file()
    assert lines(data / "refs" / "test.de") == ["xy z", "z w", "x w"]


# ---------------------------------------------------------------- shared pieces

@pytest.mark.parametrize("tokens,max_tokens,gpus,expected", [
    (524288, 4096, 8, "4096 16"), (524288, 4096, 4, "4096 32"), (524288, 4096, 1, "4096 128"),
    (524288, 4096, 16, "4096 8"), (4096, 4096, 1, "4096 1"), (4096, 4096, 2, "2048 1")])
def test_batch_layout_keeps_the_papers_tokens_per_update_for_any_device_count(tokens, max_tokens, gpus, expected):
    out = run([sys.executable, RECIPE_PY, "batch", "--tokens-per-update", tokens, "--max-tokens", max_tokens,
               "--gpus", gpus]).stdout.split()
    assert " ".join(out) == expected
    mt, uf = map(int, out)
    assert mt * uf * gpus == tokens


def test_train_without_a_gpu_asks_for_cpu(tmp_path):
    proc = script("iwslt14_de_en", "train.sh", tmp_path, tmp_path / "ckpt", env={"NGPUS": "0"}, check=False)
    assert proc.returncode != 0
    assert "dict.de.txt not found" in proc.stderr
    (tmp_path / "dict.de.txt").write_text("")
    proc = script("iwslt14_de_en", "train.sh", tmp_path, tmp_path / "ckpt", env={"NGPUS": "0"}, check=False)
    assert proc.returncode != 0 and "no GPU found: pass --cpu" in proc.stderr


def test_prepare_without_the_archive_names_the_missing_file(tmp_path):
    proc = script("iwslt14_de_en", "prepare.sh", tmp_path / "out", env={"ARCHIVES": str(tmp_path)}, check=False)
    assert proc.returncode != 0 and f"ARCHIVES={tmp_path} holds no de-en.tgz" in proc.stderr


def test_download_writes_the_file_only_when_complete_and_names_the_way_out_otherwise(tmp_path):
    (tmp_path / "de-en.tgz").write_bytes(b"archive bytes")
    run([sys.executable, RECIPE_PY, "download", (tmp_path / "de-en.tgz").as_uri(), tmp_path / "got.tgz"])
    assert (tmp_path / "got.tgz").read_bytes() == b"archive bytes" and not (tmp_path / "got.tgz.part").exists()
    proc = run([sys.executable, RECIPE_PY, "download", (tmp_path / "missing.tgz").as_uri(), tmp_path / "x.tgz"],
               check=False)
    assert proc.returncode == 1 and "could not download" in proc.stderr and "ARCHIVES=" in proc.stderr
    assert not (tmp_path / "x.tgz").exists()


def test_fetch_archive_downloads_by_default_then_reuses_the_download(tmp_path):
    write_tar(tmp_path / "de-en.tgz", {"de-en/train.tags.de-en.de": "Hallo .\n"})
    fetch = f'source "{EXAMPLES}/translation/common.sh" && fetch_archive "$1" "$2"'
    args = ["bash", "-c", fetch, "fetch", tmp_path / "orig", (tmp_path / "de-en.tgz").as_uri()]
    env = subprocess_env()
    env.pop("ARCHIVES", None)
    first = run(args, env=env)
    assert "downloading file://" in first.stdout
    assert (tmp_path / "orig" / "de-en" / "train.tags.de-en.de").read_text() == "Hallo .\n"
    second = run(args, env=env)
    assert "de-en.tgz already downloaded" in second.stdout


def test_clean_keeps_pairs_by_length_and_ratio_and_refuses_unpaired_files(tmp_path):
    (tmp_path / "c.en").write_text("a b c\none\n" + " ".join(["w"] * 6) + "\nx  y\n")
    (tmp_path / "c.fr").write_text("a b\nun deux trois\n" + " ".join(["w"] * 6) + "\nx y\n")
    run([sys.executable, RECIPE_PY, "clean", "--ratio", 1.5, "--min", 1, "--max", 5, tmp_path / "c", "en", "fr",
         tmp_path / "out"])
    # "one" vs "un deux trois" breaks the ratio, the 6-word pair the maximum; whitespace is normalised
    assert lines(tmp_path / "out.en") == ["a b c", "x y"] and lines(tmp_path / "out.fr") == ["a b", "x y"]
    (tmp_path / "c.fr").write_text("a b\n")
    proc = run([sys.executable, RECIPE_PY, "clean", "--ratio", 1.5, "--min", 1, "--max", 5, tmp_path / "c", "en",
                "fr", tmp_path / "out"], check=False)
    assert proc.returncode == 1 and "has 4 lines but" in proc.stderr and "Traceback" not in proc.stderr


def test_compound_split_and_bleu_helpers(tmp_path):
    split = run([sys.executable, RECIPE_PY, "compound-split"], stdin="a well-known x-y-z\nno hyphen -\n").stdout
    assert split.splitlines() == ["a well ##AT##-##AT## known x ##AT##-##AT## y-z", "no hyphen -"]
    (tmp_path / "ref").write_text("the cat sat on the mat\n")
    (tmp_path / "hyp").write_text("the cat sat on the mat\n")
    assert "BLEU = 100.00" in run([sys.executable, RECIPE_PY, "bleu", tmp_path / "hyp", tmp_path / "ref"]).stdout
