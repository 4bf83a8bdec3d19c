"""A small synthetic grammar: German-like clauses and their English translations.

A clause is drawn once as an abstract structure (subject, verb, objects, adverbials,
tense, modal, negation) and then realised twice, once by German rules (verb second,
verb final in subordinate and relative clauses, separable prefixes, case/gender/number
agreement, "kein") and once by English rules (SVO, do-support, "will" future, phrasal
verbs, "a"/"an", possessive "'s"). Nothing here is random except the drawing, which
uses the ``random.Random`` passed in, so output depends only on the seed.
"""

from . import lexicon as L

# ---------------------------------------------------------------- German morphology

_GIDX = {"m": 0, "f": 1, "n": 2, "p": 3}
_DEF = {"nom": ["der", "die", "das", "die"], "acc": ["den", "die", "das", "die"],
        "dat": ["dem", "der", "dem", "den"]}
_EIN_END = {"nom": ["", "e", "", "e"], "acc": ["en", "e", "", "e"], "dat": ["em", "er", "em", "en"]}
_DIES_END = {"nom": ["er", "e", "es", "e"], "acc": ["en", "e", "es", "e"], "dat": ["em", "er", "em", "en"]}
_WEAK_ADJ = {"nom": ["e", "e", "e", "en"], "acc": ["en", "e", "e", "en"], "dat": ["en", "en", "en", "en"]}
_MIXED_ADJ = {"nom": ["er", "e", "es", "en"], "acc": ["en", "e", "es", "en"], "dat": ["en", "en", "en", "en"]}
_STRONG_ADJ = {"nom": ["er", "e", "es", "e"], "acc": ["en", "e", "es", "e"], "dat": ["em", "er", "em", "en"]}

PRON_DE = {"nom": ["ich", "du", "er", "sie", "wir", "ihr", "sie"],
           "acc": ["mich", "dich", "ihn", "sie", "uns", "euch", "sie"],
           "dat": ["mir", "dir", "ihm", "ihr", "uns", "euch", "ihnen"]}
PRON_EN = {"nom": ["I", "you", "he", "she", "we", "you", "they"],
           "obj": ["me", "you", "him", "her", "us", "you", "them"]}
# pronoun index -> verb person index (0..5: 1sg 2sg 3sg 1pl 2pl 3pl)
PRON_PERSON = [0, 1, 2, 2, 3, 4, 5]
POSSESSIVES = [("mein", "my"), ("dein", "your"), ("sein", "his"), ("ihr", "her"),
               ("unser", "our"), ("euer", "your")]

_SEIN = "bin,bist,ist,sind,seid,sind".split(",")
_WAR = "war,warst,war,waren,wart,waren".split(",")
_HABEN = "habe,hast,hat,haben,habt,haben".split(",")
_HATTE = "hatte,hattest,hatte,hatten,hattet,hatten".split(",")
_PRET_END = ["e", "est", "e", "en", "et", "en"]


def _base_inf(verb):
    return verb.inf[len(verb.prefix):] if verb.prefix else verb.inf


def _stem(verb):
    base = _base_inf(verb)
    return base[:-2] if base.endswith("en") else base[:-1]


def _needs_e(stem):
    if stem.endswith(("t", "d")):
        return True
    return len(stem) >= 2 and stem[-1] in "mn" and stem[-2] not in "aeiouäöülrmn"


def de_present(verb, p):
    if verb.present:
        return verb.present[p]
    stem = _stem(verb)
    if p in (3, 5):
        return _base_inf(verb)
    if p == 0:
        return stem + "e"
    e = "e" if _needs_e(stem) else ""
    if p == 1:
        return stem + e + ("t" if stem.endswith(("s", "ß", "z", "x")) else "st")
    return stem + e + "t"


def de_imperative(verb):
    if verb.imperative:
        return verb.imperative
    stem = _stem(verb)
    return stem + "e" if _needs_e(stem) else stem


def adj_de(adj, table, case, g):
    return adj.stem + table[case][_GIDX[g]]


def _genitive_de(noun):
    if noun.gender == "f":
        return ["der", noun.de]
    if noun.weak:
        return ["des", noun.weak]
    s = "es" if noun.de.endswith(("s", "ß", "z", "x", "sch")) else "s"
    return ["des", noun.de + s]


# ---------------------------------------------------------------- noun phrases


class NP:
    """A noun phrase. kind: 'noun', 'name' or 'pron'."""

    def __init__(self, kind, noun=None, name=None, pron=None, number="sg", det="def",
                 adjs=(), owner=None, rel=None):
        self.kind, self.noun, self.name, self.pron = kind, noun, name, pron
        self.number, self.det, self.adjs, self.owner, self.rel = number, det, list(adjs), owner, rel

    @property
    def person(self):
        if self.kind == "pron":
            return PRON_PERSON[self.pron]
        return 2 if self.number == "sg" else 5

    @property
    def gkey(self):
        return "p" if self.number == "pl" else (self.noun.gender if self.kind == "noun" else "m")

    @property
    def is_person(self):
        return self.kind in ("name", "pron") or "per" in self.noun.tags

    def de(self, case):
        if self.kind == "pron":
            words = [PRON_DE[case][self.pron]]
        elif self.kind == "name":
            words = [self.name]
        else:
            words = self._de_noun(case)
        if self.rel is not None:
            clause, gap = self.rel
            words += [","] + clause.de_relative(self, gap) + [","]
        return words

    def _de_noun(self, case):
        n, g, det = self.noun, self.gkey, self.det
        gi = _GIDX[g]
        if self.number == "sg":
            head = n.weak if (n.weak and case != "nom") else n.de
        else:
            head = n.de_pl
            if case == "dat" and not head.endswith(("n", "s")):
                head += "n"
        words, adj_table = [], _STRONG_ADJ
        if self.owner is not None and self.owner.kind == "name":
            words.append(self.owner.name + ("'" if self.owner.name.endswith(("s", "x", "z")) else "s"))
        elif det == "def":
            words.append(_DEF[case][gi])
            adj_table = _WEAK_ADJ
        elif det in ("dies", "jed"):
            words.append(("dies" if det == "dies" else "jed") + _DIES_END[case][gi])
            adj_table = _WEAK_ADJ
        elif det in ("indef", "kein") or det.startswith("poss:"):
            if det == "indef":
                stem = "ein"
            elif det == "kein":
                stem = "kein"
            else:
                stem = POSSESSIVES[int(det[5:])][0]
            end = _EIN_END[case][gi]
            if stem == "euer" and end:
                stem = "eur"
            words.append(stem + end)
            adj_table = _MIXED_ADJ
        elif det.startswith("num:"):
            words.append(L.NUMBERS[int(det[4:])][0])
        elif det in ("viele", "einige"):
            words.append(det[:-1] + _STRONG_ADJ[case][gi])
        # det == "bare": no determiner, strong adjectives
        words += [adj_de(a, adj_table, case, g) for a in self.adjs]
        words.append(head)
        if self.owner is not None and self.owner.kind == "noun":
            words += _genitive_de(self.owner.noun)
        return words

    def en(self, case="nom"):
        if self.kind == "pron":
            words = [PRON_EN["nom" if case == "nom" else "obj"][self.pron]]
        elif self.kind == "name":
            words = [self.name]
        else:
            words = self._en_noun()
        if self.rel is not None:
            clause, gap = self.rel
            words += clause.en_relative(self, gap)
        return words

    def _en_noun(self):
        n, det, pl = self.noun, self.det, self.number == "pl"
        words = []
        if self.owner is not None:
            own = self.owner.en() if self.owner.kind == "name" else ["the", self.owner.noun.en]
            own[-1] += "'" if own[-1].endswith("s") and self.owner.kind == "name" else "'s"
            words += own
        elif det == "def":
            words.append("the")
        elif det == "indef":
            words.append("a")
        elif det == "kein":
            words.append("no")
        elif det.startswith("poss:"):
            words.append(POSSESSIVES[int(det[5:])][1])
        elif det == "dies":
            words.append("these" if pl else "this")
        elif det == "jed":
            words.append("every")
        elif det.startswith("num:"):
            words.append(L.NUMBERS[int(det[4:])][1])
        elif det == "viele":
            words.append("many")
        elif det == "einige":
            words.append("some")
        words += [a.en for a in self.adjs]
        words += (n.en_pl if pl else n.en).split()
        return words


def _de_pp(prep, np, case):
    """A German prepositional phrase with the usual contractions (im, ins, zum, zur, am, vom, beim)."""
    words = np.de(case)
    if np.kind == "noun" and np.det == "def" and np.owner is None and np.rel is None:
        art = words[0]
        fused = {("in", "dem"): "im", ("in", "das"): "ins", ("zu", "dem"): "zum", ("zu", "der"): "zur",
                 ("an", "dem"): "am", ("von", "dem"): "vom", ("bei", "dem"): "beim"}.get((prep, art))
        if fused:
            return [fused] + words[1:]
    return [prep] + words


# ---------------------------------------------------------------- clauses


class Clause:
    """One clause drawn abstractly; realised by de_* and en_* methods."""

    def __init__(self):
        self.subj = None      # NP
        self.verb = None      # lexicon.Verb, or "be" (copula)
        self.acc = None       # NP
        self.dat = None       # NP
        self.pobj = None      # NP (prepositional object of a P: frame)
        self.comp = None      # Clause (S/Q frame complement)
        self.pred = None      # Adjective (copula + adjective)
        self.loc = None       # (German prep, English prep, NP)
        self.dir = None       # ("place", NP) | ("city", (de, en)) | ("home",)
        self.with_ = None     # NP, companion: mit + dative -> with
        self.by = None        # Noun, vehicle: mit dem Bus -> by bus
        self.time = None      # (de, en, class)
        self.freq = None      # (de, en)
        self.tense = "pres"   # pres | past | fut
        self.modal = None     # key of lexicon.MODALS
        self.neg = False
        self.wh = None        # wh-question target: subj acc dat loc dir time why

    # ---------------------------------------------------------- shared helpers

    def _neg_into_kein(self):
        """German negates an indefinite object with 'kein'; English then says 'no' and keeps the verb positive."""
        a = self.acc
        return (self.neg and a is not None and a.kind == "noun" and a.det in ("indef", "bare")
                and a.owner is None)

    def _frame(self):
        return "BE" if self.verb == "be" else self.verb.frame

    # ---------------------------------------------------------- German

    def _de_verb(self, person):
        """(finite form, final words in main-clause order, separable prefix fused in sub clauses?)."""
        if self.verb == "be":
            return (_WAR if self.tense == "past" else _SEIN)[person], [], False
        v = self.verb
        if self.modal:
            pres, pret = L.MODALS[self.modal][0], L.MODALS[self.modal][1]
            fin = pret + _PRET_END[person] if self.tense == "past" else pres.split(",")[person]
            return fin, [v.inf], False
        if self.tense == "past":
            if v.key == "haben":
                return _HATTE[person], [], False
            return (_SEIN if v.aux == "s" else _HABEN)[person], [v.participle], False
        fin = de_present(v, person)
        if v.prefix:
            return fin, [v.prefix], True
        return fin, [], False

    def _de_middle(self, skip=(), include_subj=True, kein=None):
        """Middle field (everything between the two verb positions), in German order."""
        if kein is None:
            kein = self._neg_into_kein()
        words = []
        if include_subj and "subj" not in skip:
            words += self.subj.de("nom")
        pron_acc = self.acc is not None and self.acc.kind == "pron" and "acc" not in skip
        pron_dat = self.dat is not None and self.dat.kind == "pron" and "dat" not in skip
        frame = self._frame()
        dat_case = "dat"
        if pron_acc:
            words += self.acc.de("acc")
        if pron_dat:
            words += self.dat.de(dat_case)
        if self.dat is not None and not pron_dat and "dat" not in skip:
            words += self.dat.de(dat_case)
        if self.time and "time" not in skip:
            words += self.time[0].split()
        if self.freq:
            words.append(self.freq[0])
        if self.acc is not None and not pron_acc and "acc" not in skip:
            if kein:
                saved = self.acc.det
                self.acc.det = "kein"
                words += self.acc.de("acc")
                self.acc.det = saved
            else:
                words += self.acc.de("acc")
        if self.neg and not kein:
            words.append("nicht")
        if self.with_ is not None:
            words += _de_pp("mit", self.with_, "dat")
        if self.by is not None:
            words += ["mit", _DEF["dat"][_GIDX[self.by.gender]], self.by.de]
        if self.pobj is not None and "pobj" not in skip:
            _, prep, case = frame.split(":")
            words += _de_pp(prep, self.pobj, case)
        if self.pred is not None:
            words.append(self.pred.de)
        if self.loc is not None and "loc" not in skip:
            words += _de_pp(self.loc[0], self.loc[2], "dat")
        if self.dir is not None and "dir" not in skip:
            kind = self.dir[0]
            if kind == "home":
                words += ["nach", "Hause"]
            elif kind == "city":
                words += ["nach", self.dir[1][0]]
            elif kind == "stay_home":
                words += ["zu", "Hause"]
            else:
                np = self.dir[1]
                words += _de_pp("in", np, "acc") if kind == "in" else _de_pp("zu", np, "dat")
        return words

    def de_main(self, front="subj"):
        """Declarative main clause, verb second. front: subj | time | loc | words (a list: fronted clause)."""
        person = self.subj.person
        fin, final, _ = self._de_verb(person)
        if isinstance(front, list):
            return front + [fin] + self._de_middle() + final
        if front == "time" and self.time:
            return self.time[0].split() + [fin] + self._de_middle(skip=("time",)) + final
        if front == "loc" and self.loc:
            return (_de_pp(self.loc[0], self.loc[2], "dat") + [fin] + self._de_middle(skip=("loc",))
                    + final)
        return self.subj.de("nom") + [fin] + self._de_middle(include_subj=False) + final

    def de_sub(self, skip=(), include_subj=True, lead=()):
        """Verb-final clause: lead words (conjunction / relative pronoun) + middle + verbs."""
        person = self.subj.person
        fin, final, fused = self._de_verb(person)
        cluster = [final[0] + fin] if fused else final + [fin]
        return list(lead) + self._de_middle(skip=skip, include_subj=include_subj) + cluster

    def de_ynq(self):
        fin, final, _ = self._de_verb(self.subj.person)
        return [fin] + self._de_middle() + final

    def de_whq(self):
        wh = self.wh
        word = {"subj": "wer", "dat": "wem", "loc": "wo", "dir": "wohin", "time": "wann",
                "why": "warum"}.get(wh)
        if wh == "acc":
            word = "wen" if self.acc.is_person else "was"
        person = 2 if wh == "subj" else self.subj.person
        fin, final, _ = self._de_verb(person)
        return [word, fin] + self._de_middle(skip=(wh,)) + final

    def de_imperative(self):
        words = [de_imperative(self.verb)] + self._de_middle(include_subj=False)
        if self.verb.prefix:
            words.append(self.verb.prefix)
        return words

    def de_relative(self, head, gap):
        g = _GIDX[head.gkey]
        case = "nom" if gap == "subj" else "acc"
        rel = _DEF[case][g]
        return self.de_sub(skip=(gap,), lead=[rel])

    # ---------------------------------------------------------- English

    def _en_verb(self, person, question=False):
        """English verb group: (words before the subject, words after it)."""
        sg3 = person == 2
        fut = self.tense == "fut"
        past = self.tense == "past"
        neg = self.neg and not self._neg_into_kein()
        freq = [self.freq[1]] if self.freq else []
        if self.verb == "be":
            if fut:
                aux, rest = ["will"], ["be"]
            else:
                form = ("was" if person in (0, 2) else "were") if past else \
                    ("am" if person == 0 else "is" if sg3 else "are")
                aux, rest = [form], []
            if neg:
                aux = aux + ["not"]
            if question:
                return aux[:1], aux[1:] + freq + rest
            return [], aux + freq + rest
        v = self.verb
        tail = [v.en_particle] if v.en_particle else []
        modal = L.MODALS[self.modal] if self.modal else None
        if fut or (modal and modal[4] == "modal"):
            word = "will" if fut else (modal[3] if past else modal[2])
            parts = word.split()
            aux, more = parts[0], parts[1:]
            if neg:
                aux_words = ["cannot"] if aux == "can" else [aux, "not"]
            else:
                aux_words = [aux]
            rest = freq + more + [v.en_base] + tail
            if question:
                return aux_words[:1], aux_words[1:] + rest
            return [], aux_words + rest
        if modal:  # "have to" / "want to": a lexical verb taking "to" + infinitive
            lex = modal[2].split()[0]
            base, s3, pst = lex, ("has" if lex == "have" else lex + "s"), ("had" if lex == "have" else lex + "ed")
            tail = ["to", v.en_base] + tail
        else:
            base, s3, pst = v.en_base, v.en_3sg, v.en_past
        do = "did" if past else ("does" if sg3 else "do")
        if question:
            return [do], (["not"] if neg else []) + freq + [base] + tail
        if neg:
            return [], [do, "not"] + freq + [base] + tail
        return [], freq + [pst if past else (s3 if sg3 else base)] + tail

    def _en_rest(self, skip=()):
        """Everything after the verb group, in English order."""
        words = []
        frame = self._frame()
        kein = self._neg_into_kein()
        to_dat = frame == "DT" or frame == "G"
        if self.dat is not None and not to_dat and frame != "DAT" and "dat" not in skip:
            words += self.dat.en("obj")  # double object: gives the child an apple
        if frame == "DAT" and "dat" not in skip:
            words += self.dat.en("obj")
        if self.acc is not None and "acc" not in skip:
            if kein:
                saved = self.acc.det
                self.acc.det = "kein"
                words += self.acc.en("obj")
                self.acc.det = saved
            else:
                words += self.acc.en("obj")
        if frame == "DT" and "dat" not in skip:
            words += ["to"] + self.dat.en("obj")
        if self.pobj is not None and "pobj" not in skip:
            words += self.pobj.en("obj")
        if self.pred is not None:
            words.append(self.pred.en)
        if self.loc is not None and "loc" not in skip:
            words += self.loc[1].split() + self.loc[2].en("obj")
        if self.dir is not None and "dir" not in skip:
            kind = self.dir[0]
            if kind == "home":
                words += ["home"]
            elif kind == "stay_home":
                words += ["at", "home"]
            elif kind == "city":
                words += ["to", self.dir[1][1]]
            else:
                words += ["to"] + self.dir[1].en("obj")
        if self.with_ is not None:
            words += ["with"] + self.with_.en("obj")
        if self.by is not None:
            words += ["by", self.by.en]
        if self.time and "time" not in skip:
            words += self.time[1].split()
        return words

    def _en_subject_and_object(self):
        """English subject NP and the clause with German dative experiencer promoted (gefallen, fehlen)."""
        return self.subj

    def en_decl(self, front="subj"):
        if self._frame() == "G":  # Das Buch gefällt dem Mann -> The man likes the book
            return self._en_swapped(front)
        pre, post = self._en_verb(self.subj.person)
        if front == "time" and self.time:
            return self.time[1].split() + self.subj.en("nom") + post + self._en_rest(skip=("time",))
        return self.subj.en("nom") + post + self._en_rest()

    def _en_swapped(self, front="subj", question=False, skip=(), lead=()):
        exp, stim = self.dat, self.subj
        pre, post = self._en_verb(exp.person, question=question)
        rest = [] if "subj" in skip else stim.en("obj")
        clause_skip = tuple(s for s in skip if s != "subj") + ("dat",)
        rest = rest + self._en_rest(skip=clause_skip + ("time",) if front == "time" else clause_skip)
        subj_words = [] if "dat" in skip else exp.en("nom")
        if question:
            return list(lead) + pre + subj_words + post + rest
        if front == "time" and self.time:
            return self.time[1].split() + subj_words + post + rest
        return list(lead) + subj_words + post + rest

    def en_sub(self, lead=()):
        if self._frame() == "G":
            return self._en_swapped(lead=lead)
        _, post = self._en_verb(self.subj.person)
        return list(lead) + self.subj.en("nom") + post + self._en_rest()

    def en_ynq(self):
        if self._frame() == "G":
            return self._en_swapped(question=True)
        pre, post = self._en_verb(self.subj.person, question=True)
        return pre + self.subj.en("nom") + post + self._en_rest()

    def en_whq(self):
        wh = self.wh
        if wh == "subj":
            _, post = self._en_verb(2)
            return ["who"] + post + self._en_rest()
        if wh == "acc":
            word = "who" if self.acc.is_person else "what"
        elif wh == "dat":
            word = "who"
        else:
            word = {"loc": "where", "dir": "where", "time": "when", "why": "why"}[wh]
        pre, post = self._en_verb(self.subj.person, question=True)
        return [word] + pre + self.subj.en("nom") + post + self._en_rest(skip=(wh,))

    def en_imperative(self):
        v = self.verb
        head = ["do", "not"] if self.neg and not self._neg_into_kein() else []
        words = head + [v.en_base] + ([v.en_particle] if v.en_particle else [])
        return words + self._en_rest()

    def en_relative(self, head, gap):
        if gap == "subj":
            _, post = self._en_verb(head.person)
            return ["who" if head.is_person else "that"] + post + self._en_rest()
        _, post = self._en_verb(self.subj.person)
        return ["that"] + self.subj.en("nom") + post + self._en_rest(skip=(gap,))
