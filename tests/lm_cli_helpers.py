"""Tiny corpora in the real formats for the language-model and summarization script tests (which run the example
scripts with helpers.run_script), and reading fairseq-eval-lm's perplexity."""

import random
import re
from pathlib import Path


def write_wikitext(out: Path, n_train=300, n_eval=30, seed=0):
    """A tiny corpus in WikiText-103's format: " = Heading = " lines, blank lines, one paragraph a line, words
    split by spaces, <unk> for rare words. The text follows a small grammar, so a model can learn it quickly."""
    rng = random.Random(seed)
    adj = "big small red old new quiet early famous".split()
    nouns = "tower river city king army ship song church road village".split()
    verbs = "built crossed saw defended left praised reached named".split()

    def sentence():
        words = ["the", rng.choice(adj), rng.choice(nouns), rng.choice(verbs), "the", rng.choice(nouns)]
        if rng.random() < 0.3:
            words += ["in", str(rng.randint(1800, 1810))]
        if rng.random() < 0.1:
            words += ["near", "<unk>"]
        return " ".join(words) + " ."

    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_eval), ("test", n_eval)):
        lines = [""]
        for k in range(n):
            lines += [f" = {rng.choice(nouns).title()} {k} = ", ""]
            for _ in range(rng.randint(1, 3)):
                lines.append(" " + " ".join(sentence() for _ in range(rng.randint(2, 5))) + " ")
            lines.append("")
        (out / f"wiki.{split}.tokens").write_text("\n".join(lines) + "\n")
    return out


def write_cnn_dm(out: Path, n_train=160, n_eval=8, seed=0):
    """A tiny CNN/DailyMail-like sample in the layout prepare.sh documents: {split}.source (one untokenised, cased
    article a line) and {split}.target (its summary). Articles run to 70-130 words, so some exceed a 64-token
    source limit after BPE."""
    rng = random.Random(seed)
    names = "Smith Jones Brown Taylor Wilson Davies Evans Thomas".split()
    places = "London Paris Berlin Madrid Rome Vienna Dublin Oslo".split()
    things = "bridge school hospital museum stadium library market station".split()
    verbs = "opened closed visited praised criticised rebuilt sold inspected".split()
    filler = ["Officials said the decision followed months of debate.",
              "Residents were not consulted, according to a spokesman.", "The project cost millions of pounds.",
              "Critics called it a waste.", "Supporters said it would bring jobs to the area.",
              "A report is expected next year."]
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_eval), ("test", n_eval)):
        sources, targets = [], []
        for _ in range(n):
            who, where, what, verb = rng.choice(names), rng.choice(places), rng.choice(things), rng.choice(verbs)
            body = " ".join(rng.choice(filler) for _ in range(rng.randint(8, 14)))
            sources.append(f"Mayor {who} {verb} the new {what} in {where} on Monday. {body} "
                           f"The {what} in {where} was {verb} by {who}.")
            targets.append(f"Mayor {who} {verb} the new {what} in {where}. The {what} was {verb}.")
        (out / f"{split}.source").write_text("\n".join(sources) + "\n")
        (out / f"{split}.target").write_text("\n".join(targets) + "\n")
    return out


def perplexity(eval_output: str) -> float:
    match = re.search(r"Perplexity: ([0-9.]+|inf|nan)", eval_output)
    assert match, f"no perplexity in fairseq-eval-lm's output:\n{eval_output[-2000:]}"
    return float(match.group(1))
