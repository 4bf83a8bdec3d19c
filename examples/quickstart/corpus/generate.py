"""Deterministic generator of the quickstart parallel corpus (German-like source, English target).

    python examples/quickstart/corpus_cli.py generate --out DIR --train 40000 --valid 500 --test 1000 --seed 1

writes DIR/{train,valid,test}.{de,en}, one detokenised sentence per line. The same seed gives the
same files byte for byte; every source (and every target) sentence occurs once across all
splits, so no test sentence is in train. Valid and test are drawn first, so for a given seed they
do not change when --train changes.

The task is translation, not copying: German word order (verb second, verb-final subordinate
and relative clauses, separable prefixes at the clause end, participles and infinitives at the
end, fronted adverbials and clauses with inversion), German morphology (gender, case and number
on articles, adjectives and nouns, weak nouns, person/number conjugation, stem-vowel changes,
perfect with haben/sein, modal preterites, kein), and English rules (do-support in negation and
questions, "will" for future time adverbs, phrasal verbs, a/an, possessive 's, argument swap for
gefallen/fehlen, "by bus" for "mit dem Bus") all have to be learned.
"""

import argparse
import os
import random
import sys

from . import lexicon as L
from .grammar import NP, Clause, POSSESSIVES
from .text import detokenize, tokenize

MIN_WORDS, MAX_WORDS = 4, 30


def _pick(rng, weighted):
    """Choose from [(item, weight), ...] with a deterministic walk over the list order."""
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for item, w in weighted:
        x -= w
        if x < 0:
            return item
    return weighted[-1][0]


class Sampler:
    def __init__(self, rng):
        self.rng = rng
        self.by_tag = {}
        for n in L.NOUNS:
            for t in n.tags:
                self.by_tag.setdefault(t, []).append(n)
        self.adj_anim = [a for a in L.ADJECTIVES if a.tag in ("any", "anim")]
        self.adj_inan = [a for a in L.ADJECTIVES if a.tag in ("any", "inan")]
        self.verbs = [v for v in L.VERBS]
        self.sub_ok = [v for v in self.verbs if v.frame not in ("S", "Q")]
        self.persons = self.by_tag["per"]

    # ------------------------------------------------------------------ noun phrases

    def nouns_for(self, tags):
        out = []
        for t in tags:
            for n in self.by_tag.get(t, ()):
                if n not in out:
                    out.append(n)
        return out

    def np(self, tags, pron=0.0, name=0.1, rel=0.0, plural=0.35, allow_owner=True, depth=0):
        r = self.rng
        if "per" in tags:
            x = r.random()
            if x < pron:
                return NP("pron", pron=r.randrange(7))
            if x < pron + name:
                return NP("name", name=r.choice(L.NAMES))
        candidates = self.nouns_for(tags)
        noun = r.choice(candidates)
        number = "pl" if r.random() < plural else "sg"
        if number == "sg":
            det = _pick(r, [("def", 45), ("indef", 25), ("poss", 20), ("dies", 6), ("jed", 4)])
        else:
            det = _pick(r, [("def", 40), ("bare", 20), ("poss", 15), ("num", 15), ("viele", 5),
                            ("einige", 5), ("dies", 5)])
        if det == "poss":
            det = "poss:%d" % r.randrange(len(POSSESSIVES))
        elif det == "num":
            det = "num:%d" % r.randrange(len(L.NUMBERS))
        pool = self.adj_anim if ("per" in noun.tags or "ani" in noun.tags) else self.adj_inan
        n_adj = _pick(r, [(0, 62), (1, 30), (2, 8)])
        adjs = []
        while len(adjs) < n_adj:
            a = r.choice(pool)
            if a not in adjs:
                adjs.append(a)
        owner = None
        if allow_owner and "per" not in noun.tags and number == "sg" and r.random() < 0.08:
            if r.random() < 0.5:
                owner = NP("name", name=r.choice(L.NAMES))
            else:
                owner = NP("noun", noun=r.choice(self.persons), det="def")
            det = "def"
        np = NP("noun", noun=noun, number=number, det=det, adjs=adjs, owner=owner)
        if depth == 0 and r.random() < rel:
            np.rel = self.relative(np)
        return np

    def relative(self, head):
        """A relative clause on head: (clause, gap) with the gap as subject or accusative object."""
        r = self.rng
        tags = head.noun.tags
        for _ in range(20):
            gap = "subj" if r.random() < 0.6 else "acc"
            if gap == "subj":
                verbs = [v for v in self.sub_ok if set(v.subj_tags) & set(tags) and v.frame != "G"]
            else:
                verbs = [v for v in self.sub_ok if v.frame == "T" and set(v.obj_tags) & set(tags)]
            if not verbs:
                continue
            c = self.clause(mode="rel", verb=r.choice(verbs))
            if gap == "subj":
                c.subj = head
            else:
                c.acc = head
            return (c, gap)
        return None

    # ------------------------------------------------------------------ clauses

    def clause(self, mode="main", verb=None, rel=0.08):
        """mode: main | sub | rel | ynq | whq | imp"""
        r = self.rng
        c = Clause()
        if verb is None:
            pool = self.verbs if mode == "main" else self.sub_ok
            if mode == "imp":
                pool = [v for v in self.sub_ok if "per" in v.subj_tags and v.frame != "G"
                        and v.key not in ("mögen", "wissen", "haben", "fehlen")]
            x = r.random()
            if mode not in ("imp",) and x < 0.07:
                verb = "be"
            else:
                verb = r.choice(pool)
        c.verb = verb
        frame = "BE" if verb == "be" else verb.frame
        nested = mode in ("rel",)
        rel_p = 0.0 if nested else rel

        # subject
        if verb == "be":
            c.subj = self.np(("per", "ani", "thing", "food", "place"), pron=0.25, rel=rel_p)
        elif frame == "G":
            c.subj = self.np(verb.subj_tags, rel=0.0)  # the stimulus: das Buch gefällt ...
            c.dat = self.np(verb.obj_tags, pron=0.3, allow_owner=False)  # ... dem Mann
        else:
            c.subj = self.np(verb.subj_tags, pron=0.3, rel=rel_p)
        if mode == "imp":
            c.subj = NP("pron", pron=1)

        # objects by frame
        if frame == "BE":
            if r.random() < 0.6:
                anim = c.subj.is_person or "ani" in c.subj.noun.tags
                c.pred = r.choice(self.adj_anim if anim else self.adj_inan)
            else:
                self._add_loc(c, need=True)
        elif frame in ("T", "D", "DT"):
            c.acc = self.np(verb.obj_tags, pron=0.15 if frame == "T" else 0.0, rel=rel_p)
            if frame in ("D", "DT"):
                c.dat = self.np(("per",), pron=0.3 if frame == "D" else 0.0, allow_owner=False)
                if mode == "imp" and r.random() < 0.4:
                    c.dat = NP("pron", pron=0)
        elif frame == "DAT":
            c.dat = self.np(verb.obj_tags, pron=0.25, allow_owner=False, rel=rel_p)
        elif frame.startswith("P:"):
            c.pobj = self.np(verb.obj_tags, pron=0.0, rel=rel_p)
        elif frame == "L":
            if verb.key == "bleiben" and r.random() < 0.3:
                c.dir = ("stay_home",)
            else:
                self._add_loc(c, need=True)
        elif frame == "M":
            k = _pick(r, [("home", 15), ("city", 25), ("in", 30), ("zu", 30)])
            if k == "home":
                c.dir = ("home",)
            elif k == "city":
                c.dir = ("city", r.choice(L.CITIES))
            else:
                c.dir = (k, self.np(("place",), plural=0.1, allow_owner=False))
            if verb.key in ("fahren", "kommen", "zurückkommen") and c.subj.is_person and r.random() < 0.3:
                c.by = r.choice(self.by_tag["veh"])

        # optional adverbials
        if frame in ("I", "T") and r.random() < 0.15:
            self._add_loc(c)
        if frame in ("I", "T", "M") and c.subj.is_person and r.random() < 0.07:
            c.with_ = self.np(("per",), pron=0.2, allow_owner=False)

        # tense, time adverb, modal, negation, frequency
        tense = _pick(r, [("pres", 50), ("past", 35), ("fut", 15)])
        if mode in ("sub", "rel", "imp") and tense == "fut":
            tense = "pres"
        if mode == "imp":
            tense = "pres"
        c.tense = tense
        if tense == "fut" or r.random() < 0.35:
            ok = {"pres": ("pres", "any"), "past": ("past", "any"), "fut": ("fut",)}[tense]
            if mode == "imp":
                ok = ("pres", "any", "fut")
            c.time = r.choice([t for t in L.TIME_ADVERBS if t[2] in ok])
        if mode != "imp" and tense != "fut" and verb != "be" and r.random() < 0.13:
            choices = [m for m, spec in L.MODALS.items() if tense == "pres" or spec[1] is not None]
            c.modal = r.choice(choices)
        if mode != "imp" and r.random() < 0.1:
            c.freq = r.choice(L.FREQ_ADVERBS)
        if mode in ("main", "sub", "imp") and r.random() < 0.15 and not (c.freq and c.freq[0] == "nie"):
            c.neg = True
        return c

    def _add_loc(self, c, need=False):
        r = self.rng
        for _ in range(10):
            de, en, tags = r.choice(L.LOC_PREPS)
            if c.subj is not None and c.subj.kind == "noun" and "place" in c.subj.noun.tags and "place" in tags:
                continue
            c.loc = (de, en, self.np(tags, pron=0.0, name=0.0, plural=0.15, allow_owner=need))
            return
        if need:
            c.loc = ("in", "in", self.np(("place",), plural=0.0))

    # ------------------------------------------------------------------ sentences

    def sentence(self):
        """One sentence pair as token lists (German, English) and its final punctuation."""
        r = self.rng
        kind = _pick(r, [("decl", 30), ("coord", 9), ("main_sub", 14), ("sub_main", 8),
                         ("say", 10), ("ynq", 10), ("whq", 11), ("imp", 8)])
        if kind == "decl":
            c = self.clause()
            front = self._front(c)
            if c.verb != "be" and c.verb.frame in ("S", "Q"):
                return self._say(c, front)
            return c.de_main(front), c.en_decl(front), "."
        if kind == "coord":
            a, b = self._plain_main(), self._plain_main()
            de_c, en_c, comma = r.choice(L.COORD_CONJ)
            fa, fb = self._front(a), self._front(b)
            de = a.de_main(fa) + ([","] if comma else []) + [de_c] + b.de_main(fb)
            en = a.en_decl(fa) + ([","] if en_c == "but" else []) + [en_c] + b.en_decl(fb)
            return de, en, "."
        if kind in ("main_sub", "sub_main"):
            m = self._plain_main()
            de_c, en_c, t = r.choice(L.SUB_CONJ)
            s = self.clause(mode="sub", verb=r.choice(self.sub_ok))
            if t is not None:
                s.tense = t
                if s.time and s.time[2] not in (t, "any"):
                    s.time = None
                if t == "past" and s.modal and L.MODALS[s.modal][1] is None:
                    s.modal = None
            sub_de, sub_en = s.de_sub(lead=[de_c]), s.en_sub(lead=[en_c])
            if kind == "main_sub":
                f = self._front(m)
                return m.de_main(f) + [","] + sub_de, m.en_decl(f) + sub_en, "."
            return m.de_main(sub_de + [","]), sub_en + [","] + m.en_decl(), "."
        if kind == "say":
            verbs = [v for v in self.verbs if v.frame in ("S", "Q")]
            c = self.clause(verb=r.choice(verbs))
            return self._say(c, self._front(c))
        if kind == "ynq":
            c = self._plain_main(question=True)
            return c.de_ynq(), c.en_ynq(), "?"
        if kind == "whq":
            c = self._plain_main(question=True)
            targets = ["why"]
            frame = "BE" if c.verb == "be" else c.verb.frame
            if frame != "G":
                targets += ["subj"] * 2
            if c.acc is not None and c.acc.kind != "pron" and c.acc.rel is None:
                targets += ["acc"] * 3
            if frame == "DAT" and c.dat.kind != "pron" and c.dat.rel is None:
                targets += ["dat"] * 2
            if c.loc is not None:
                targets += ["loc"] * 2
            if c.dir is not None and c.dir[0] != "stay_home":
                targets += ["dir"] * 2
            if c.time is not None and c.tense != "fut":
                targets += ["time"]
            c.wh = r.choice(targets)
            if c.wh == "subj" and c.subj.rel is not None:
                c.subj.rel = None
            return c.de_whq(), c.en_whq(), "?"
        c = self.clause(mode="imp")
        please = r.random() < 0.3
        de = (["bitte"] if please else []) + c.de_imperative()
        en = (["please"] if please else []) + c.en_imperative()
        return de, en, "!"

    def _plain_main(self, question=False):
        for _ in range(50):
            c = self.clause(mode="ynq" if question else "main", verb=None, rel=0.0 if question else 0.08)
            if c.verb == "be" or c.verb.frame not in ("S", "Q"):
                if question:
                    c.neg = False
                    if c.subj.rel is not None:
                        c.subj.rel = None
                return c
        raise RuntimeError("could not draw a main clause")

    def _front(self, c):
        x = self.rng.random()
        if c.time and x < 0.3:
            return "time"
        if c.loc and x > 0.85:
            return "loc"
        return "subj"

    def _say(self, c, front):
        r = self.rng
        s = self.clause(mode="sub", verb=r.choice(self.sub_ok))
        de_c, en_c = ("ob", "whether") if c.verb.frame == "Q" else ("dass", "that")
        return (c.de_main(front) + [",", de_c] + s.de_sub(), c.en_decl(front) + [en_c] + s.en_sub(), ".")




def _finish(tokens, final, english):
    words = [t for t in tokens if t]
    # a relative clause at the end of a clause leaves ", ," or ", ." behind
    out = []
    for w in words:
        if w == "," and out and out[-1] == ",":
            continue
        out.append(w)
    while out and out[-1] == ",":
        out.pop()
    if english:
        for i in range(len(out) - 1):
            if out[i] == "a" and out[i + 1][0].lower() in "aeiou":
                out[i] = "an"
    out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out) + " " + final


def word_count(sentence):
    return sum(1 for t in tokenize(sentence).split() if t not in ",.?!")


def generate(n, seed):
    """n distinct sentence pairs (detokenised German, English) for this seed."""
    if n < 0:
        raise ValueError(f"number of sentences must be >= 0, got {n}")
    rng = random.Random(seed)
    sampler = Sampler(rng)
    seen_de, seen_en, pairs = set(), set(), []
    attempts = 0
    while len(pairs) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"could only draw {len(pairs)} distinct sentences out of {n}")
        de_toks, en_toks, final = sampler.sentence()
        de = detokenize(_finish(de_toks, final, english=False))
        en = detokenize(_finish(en_toks, final, english=True))
        if not (MIN_WORDS <= word_count(de) <= MAX_WORDS and MIN_WORDS <= word_count(en) <= MAX_WORDS):
            continue
        if de in seen_de or en in seen_en:
            continue
        seen_de.add(de)
        seen_en.add(en)
        pairs.append((de, en))
    return pairs


def write_corpus(out, train, valid, test, seed):
    for name, n in (("train", train), ("valid", valid), ("test", test)):
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"--{name} must be a non-negative integer, got {n!r}")
    pairs = generate(valid + test + train, seed)
    splits = {"valid": pairs[:valid], "test": pairs[valid:valid + test], "train": pairs[valid + test:]}
    os.makedirs(out, exist_ok=True)
    for split, items in splits.items():
        for side, idx in (("de", 0), ("en", 1)):
            with open(os.path.join(out, f"{split}.{side}"), "w", encoding="utf-8", newline="\n") as f:
                f.write("".join(p[idx] + "\n" for p in items))
    return {k: len(v) for k, v in splits.items()}


def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def main(argv=None, prog="corpus_cli.py generate"):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory for {train,valid,test}.{de,en}")
    p.add_argument("--train", type=_positive, default=40000, help="training sentence pairs (default 40000)")
    p.add_argument("--valid", type=_positive, default=500, help="validation sentence pairs (default 500)")
    p.add_argument("--test", type=_positive, default=1000, help="test sentence pairs (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed; same seed, same files (default 1)")
    args = p.parse_args(argv)
    counts = write_corpus(args.out, args.train, args.valid, args.test, args.seed)
    print("wrote %s: %s" % (args.out, ", ".join(f"{k} {v}" for k, v in counts.items())), file=sys.stderr)

