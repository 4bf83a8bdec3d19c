"""The quickstart corpus: deterministic, split cleanly, and a translation task (reordering, morphology)."""

import sys

import pytest

from helpers import QUICKSTART_CLI, run
from corpus import lexicon as L
from corpus.generate import generate, word_count, write_corpus
from corpus.grammar import NP, Clause
from corpus.text import detokenize, hypotheses, tokenize

FILES = [f"{s}.{l}" for s in ("train", "valid", "test") for l in ("de", "en")]


def _noun(de):
    return next(n for n in L.NOUNS if n.de == de)


def _verb(key):
    return next(v for v in L.VERBS if v.key == key)


def _adj(de):
    return next(a for a in L.ADJECTIVES if a.de == de)


def _read(d):
    return {f: (d / f).read_bytes() for f in FILES}


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_corpus(str(a), 300, 30, 30, seed=5)
    write_corpus(str(b), 300, 30, 30, seed=5)
    write_corpus(str(c), 300, 30, 30, seed=6)
    fa, fb, fc = _read(a), _read(b), _read(c)
    assert fa == fb
    assert all(fa[f] != fc[f] for f in FILES)
    # the files have the requested number of lines, one sentence each
    for f, n in (("train.de", 300), ("valid.en", 30), ("test.de", 30)):
        lines = fa[f].decode("utf-8").split("\n")
        assert lines[-1] == "" and len(lines) == n + 1 and all(lines[:-1])


def test_valid_and_test_do_not_depend_on_train_size(tmp_path):
    write_corpus(str(tmp_path / "small"), 50, 20, 20, seed=2)
    write_corpus(str(tmp_path / "big"), 500, 20, 20, seed=2)
    for f in ("valid.de", "test.en"):
        assert (tmp_path / "small" / f).read_bytes() == (tmp_path / "big" / f).read_bytes()


def test_no_test_or_valid_sentence_in_train(tmp_path):
    write_corpus(str(tmp_path), 3000, 200, 300, seed=11)
    read = lambda f: (tmp_path / f).read_text(encoding="utf-8").splitlines()
    for side in ("de", "en"):
        train = set(read(f"train.{side}"))
        assert len(train) == 3000, "duplicate sentences in train"
        assert not train & set(read(f"test.{side}"))
        assert not train & set(read(f"valid.{side}"))
        assert not set(read(f"test.{side}")) & set(read(f"valid.{side}"))


def test_it_is_not_a_copy_task_and_lengths_vary():
    pairs = generate(2000, seed=3)
    assert all(de != en for de, en in pairs)
    # word overlap between source and target is small (names, numbers, punctuation only)
    overlap = [len(set(de.split()) & set(en.split())) / len(en.split()) for de, en in pairs]
    assert sum(overlap) / len(overlap) < 0.2
    lengths = [word_count(de) for de, _ in pairs] + [word_count(en) for _, en in pairs]
    assert min(lengths) >= 4 and max(lengths) <= 30
    assert sum(l <= 7 for l in lengths) > 0.1 * len(lengths) and sum(l >= 18 for l in lengths) > 0.05 * len(lengths)
    assert {de[-1] for de, _ in pairs} == {".", "?", "!"}
    vocab_de = {w for de, _ in pairs for w in tokenize(de).split()}
    assert len(vocab_de) > 1000, "lexical choice too poor"


def test_reordering_and_agreement_in_the_corpus():
    pairs = generate(3000, seed=4)
    # verb-final subordinate clauses: "..., weil <...> <finite verb>." never ends in a German
    # determiner or preposition, and English keeps SVO ("because <subject> <verb> ...")
    weil = [(de, en) for de, en in pairs if ", weil " in de and " because " in en]
    assert len(weil) > 20
    # perfect tense: German auxiliary second and participle last, English a single past form
    perfect = [(de, en) for de, en in pairs if de.endswith(" gesehen.") and " saw " in en]
    assert perfect, "no 'hat ... gesehen' -> 'saw' pairs"
    # separable verbs: "ruft ... an" -> "phones ..."
    assert any(" an." in de and "phone" in en for de, en in pairs)
    # questions need do-support in English
    assert any(en.startswith(("Does ", "Do ", "Did ")) for _, en in pairs)


def _svo(subj, verb, acc):
    c = Clause()
    c.subj, c.verb, c.acc = subj, _verb(verb), acc
    return c


def test_subordinate_clause_is_verb_final_in_german_and_svo_in_english():
    c = _svo(NP("noun", noun=_noun("Hund")), "sehen", NP("noun", noun=_noun("Katze")))
    assert c.de_sub(lead=["dass"]) == ["dass", "der", "Hund", "die", "Katze", "sieht"]
    assert c.en_sub(lead=["that"]) == ["that", "the", "dog", "sees", "the", "cat"]
    assert c.de_main() == ["der", "Hund", "sieht", "die", "Katze"]


def test_fronted_adverb_inverts_german_verb_second():
    c = _svo(NP("noun", noun=_noun("Mann")), "kaufen", NP("noun", noun=_noun("Apfel"), det="indef",
                                                            adjs=[_adj("rot")]))
    c.time = next(t for t in L.TIME_ADVERBS if t[0] == "heute")
    assert c.de_main(front="time") == ["heute", "kauft", "der", "Mann", "einen", "roten", "Apfel"]
    assert c.en_decl(front="time") == ["today", "the", "man", "buys", "a", "red", "apple"]


def test_perfect_separable_negation_and_questions():
    c = _svo(NP("pron", pron=2), "anrufen", NP("noun", noun=_noun("Mutter"), det="poss:2"))
    assert c.de_main() == ["er", "ruft", "seine", "Mutter", "an"]
    assert c.de_sub(lead=["weil"]) == ["weil", "er", "seine", "Mutter", "anruft"]
    c.tense = "past"
    assert c.de_main() == ["er", "hat", "seine", "Mutter", "angerufen"]
    assert c.en_decl() == ["he", "phoned", "his", "mother"]
    c.neg = True
    assert c.de_main() == ["er", "hat", "seine", "Mutter", "nicht", "angerufen"]
    assert c.en_decl() == ["he", "did", "not", "phone", "his", "mother"]
    c.neg, c.tense = False, "pres"
    assert c.de_ynq() == ["ruft", "er", "seine", "Mutter", "an"]
    assert c.en_ynq() == ["does", "he", "phone", "his", "mother"]


def test_case_gender_number_and_kein():
    dog = NP("noun", noun=_noun("Hund"), number="pl", det="def", adjs=[_adj("klein")])
    c = Clause()
    c.subj, c.verb, c.acc, c.dat = NP("name", name="Anna"), _verb("geben"), \
        NP("noun", noun=_noun("Ball"), det="indef"), dog
    assert c.de_main() == ["Anna", "gibt", "den", "kleinen", "Hunden", "einen", "Ball"]
    assert c.en_decl() == ["Anna", "gives", "the", "small", "dogs", "a", "ball"]
    c.neg = True
    assert c.de_main() == ["Anna", "gibt", "den", "kleinen", "Hunden", "keinen", "Ball"]
    assert c.en_decl() == ["Anna", "gives", "the", "small", "dogs", "no", "ball"]


def test_tokenize_roundtrip_and_hypothesis_parsing():
    for de, en in generate(300, seed=9):
        for s in (de, en):
            assert detokenize(tokenize(s)) == s
    assert tokenize("Ja, du bist da!") == "Ja , du bist da !"
    log = ["S-1\tb\n", "H-1\t-0.5\tworld .\n", "H-0\t-0.1\thello ,\n", "P-0\t-0.1\n"]
    assert hypotheses(log) == ["hello ,", "world ."]
    with pytest.raises(ValueError, match="missing for ids \\[1\\]"):
        hypotheses(["H-0\t-1\ta\n", "H-2\t-1\tb\n"])


def _cli(*args, stdin=None):
    return run([sys.executable, QUICKSTART_CLI, *args], stdin=stdin, cwd=QUICKSTART_CLI.anchor, check=False)


def test_command_line_generates_the_corpus_and_rejects_bad_sizes(tmp_path):
    out = tmp_path / "c"
    ok = _cli("generate", "--out", out, "--train", 20, "--valid", 3, "--test", 4, "--seed", 1)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert len((out / "test.en").read_text(encoding="utf-8").splitlines()) == 4
    bad = _cli("generate", "--out", out, "--train", -5)
    assert bad.returncode != 0 and "--train" in bad.stderr and "-5" in bad.stderr
    with pytest.raises(ValueError, match="--test"):
        write_corpus(str(out), 10, 1, -1, seed=0)


def test_command_line_tokenises_and_extracts_hypotheses_in_order():
    assert _cli("tok", stdin="Ja, du bist da!\n").stdout == "Ja , du bist da !\n"
    assert _cli("detok", stdin="Ja , du bist da !\n").stdout == "Ja, du bist da!\n"
    log = "S-1\tb\nH-1\t-0.5\tworld .\nH-0\t-0.1\thello ,\n"
    assert _cli("hyp", stdin=log).stdout == "hello,\nworld.\n"


def test_command_line_names_an_unknown_command():
    bad = _cli("tokenise")
    assert bad.returncode != 0 and "'tokenise'" in bad.stderr and "generate|tok|detok|hyp" in bad.stderr
