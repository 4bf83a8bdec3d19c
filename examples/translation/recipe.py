"""Text and checkpoint steps shared by the translation recipes (examples/{iwslt14_de_en,wmt14_en_fr,wmt16_en_de}).

Each subcommand replaces one tool of fairseq's own preparation scripts (which clone Moses and run its perl
scripts) with a Python package, or does a small evaluation step:

    download URL FILE                  fetch URL into FILE (through FILE.part, so a broken download never counts)
    strip-iwslt-tags < in > out        the IWSLT training files: drop <url>/<talkid>/<keywords> lines, unwrap
                                       <title>/<description>
    segs FILE.xml|.sgm > out           the text of every <seg id=...> line (IWSLT dev/test, WMT newstest), with the
                                       right single quotation mark turned into an apostrophe, as fairseq's scripts do
    tokenize -l LANG [-a] [--normalize] [--lowercase] [--workers N] < in > out
                                       Moses tokenisation with sacremoses (escaping like tokenizer.perl; -a: split
                                       hyphens as "@-@"); --normalize first runs Moses punctuation normalisation and
                                       removes non-printing characters (normalize-punctuation.perl and
                                       remove-non-printing-char.perl)
    clean --ratio R --min A --max B IN_PREFIX SRC TGT OUT_PREFIX
                                       clean-corpus-n.perl: keep a pair when both sides have A..B words and neither
                                       side is more than R times longer than the other
    batch --tokens-per-update T --max-tokens M --gpus G
                                       prints "MAX_TOKENS UPDATE_FREQ" so that MAX_TOKENS x UPDATE_FREQ x G = T
    average --output OUT (--last N DIR | CKPT...)
                                       average model weights of checkpoints (fairseq's scripts/average_checkpoints.py
                                       is not part of the installed fairseq package); --last N DIR takes the N newest
                                       epoch checkpoints checkpointE.pt of DIR
    hyps GENERATE_LOG HYP REF          hypotheses (H-) and references (T-) of a fairseq-generate log, in corpus order
    compound-split < in > out          "a-b" -> "a ##AT##-##AT## b", the splitting of tokenised BLEU on WMT En-De
    bleu HYP REF                       corpus BLEU of tokenised text as it is (sacrebleu --tokenize none)
    detokenize -l LANG < in > out      Moses detokenisation with sacremoses (also undoes "@-@")
"""

import argparse
import multiprocessing
import os
import re
import sys
import urllib.request


def _die(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def _lines(stream):
    return (line.rstrip("\n") for line in stream)


def cmd_download(args):
    part = args.file + ".part"
    try:
        with urllib.request.urlopen(args.url, timeout=60) as response, open(part, "wb") as out:
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                out.write(block)
    except OSError as e:
        _die(f"could not download {args.url}: {e}. Without internet, download it elsewhere and point ARCHIVES= "
             f"at the folder that holds {os.path.basename(args.file)}")
    os.replace(part, args.file)


_IWSLT_DROP = re.compile(r"<url>|<talkid>|<keywords>")
_IWSLT_UNWRAP = re.compile(r"</?(title|description)>")


def cmd_strip_iwslt_tags(args):
    for line in _lines(sys.stdin):
        if not _IWSLT_DROP.search(line):
            print(_IWSLT_UNWRAP.sub("", line))


_SEG = re.compile(r'<seg id="?\d+"?>\s*(.*?)\s*</seg>')


def cmd_segs(args):
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            if "<seg id" in line:
                m = _SEG.search(line)
                if m is None:
                    _die(f"{args.file}: a <seg id> line without its closing </seg>: {line.strip()[:80]}")
                print(m.group(1).replace("\u2019", "'"))


_worker = {}


def _init_worker(lang, aggressive, normalize, lowercase):
    from sacremoses import MosesPunctNormalizer, MosesTokenizer

    _worker.update(tok=MosesTokenizer(lang=lang), aggressive=aggressive, lowercase=lowercase,
                   norm=MosesPunctNormalizer(lang=lang, post_remove_control_chars=True) if normalize else None)


def _tokenize(line):
    if _worker["norm"] is not None:
        line = _worker["norm"].normalize(line)
    text = _worker["tok"].tokenize(line, aggressive_dash_splits=_worker["aggressive"], return_str=True,
                                   escape=True)
    return text.lower() if _worker["lowercase"] else text


def cmd_tokenize(args):
    init = (args.lang, args.aggressive, args.normalize, args.lowercase)
    lines = _lines(sys.stdin)
    if args.workers > 1:
        with multiprocessing.Pool(args.workers, _init_worker, init) as pool:
            for text in pool.imap(_tokenize, lines, chunksize=1000):
                print(text)
    else:
        _init_worker(*init)
        for line in lines:
            print(_tokenize(line))


def cmd_clean(args):
    for side in (args.src, args.tgt):
        if not os.path.isfile(f"{args.prefix}.{side}"):
            _die(f"{args.prefix}.{side} not found")
    with open(f"{args.prefix}.{args.src}", encoding="utf-8") as fs, open(f"{args.prefix}.{args.tgt}",
                                                                        encoding="utf-8") as ft:
        counts = (sum(1 for _ in fs), sum(1 for _ in ft))
    if counts[0] != counts[1]:
        _die(f"{args.prefix}.{args.src} has {counts[0]} lines but {args.prefix}.{args.tgt} has {counts[1]}; "
             "the two sides of a parallel corpus must pair up line by line")
    kept = dropped = 0
    with open(f"{args.prefix}.{args.src}", encoding="utf-8") as fs, \
            open(f"{args.prefix}.{args.tgt}", encoding="utf-8") as ft, \
            open(f"{args.out}.{args.src}", "w", encoding="utf-8") as os_, \
            open(f"{args.out}.{args.tgt}", "w", encoding="utf-8") as ot:
        for s, t in zip(fs, ft):
            s, t = " ".join(s.split()), " ".join(t.split())
            ns, nt = len(s.split()), len(t.split())
            if (args.min <= ns <= args.max and args.min <= nt <= args.max
                    and ns <= args.ratio * nt and nt <= args.ratio * ns):
                os_.write(s + "\n")
                ot.write(t + "\n")
                kept += 1
            else:
                dropped += 1
    print(f"clean: kept {kept} pairs, dropped {dropped} ({args.prefix} -> {args.out})", file=sys.stderr)


def cmd_batch(args):
    if min(args.tokens_per_update, args.max_tokens, args.gpus) < 1:
        _die("--tokens-per-update, --max-tokens and --gpus must be positive")
    update_freq = -(-args.tokens_per_update // (args.max_tokens * args.gpus))  # ceil
    max_tokens = args.tokens_per_update // (args.gpus * update_freq)
    if max_tokens * args.gpus * update_freq != args.tokens_per_update:
        print(f"warning: {args.tokens_per_update} tokens per update do not split evenly over {args.gpus} devices; "
              f"using {max_tokens} x {update_freq} x {args.gpus} = {max_tokens * args.gpus * update_freq}",
              file=sys.stderr)
    print(max_tokens, update_freq)


def _last_epoch_checkpoints(directory, n):
    found = []
    for name in os.listdir(directory):
        m = re.fullmatch(r"checkpoint(\d+)\.pt", name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, name)))
    if len(found) < n:
        _die(f"{directory} holds {len(found)} epoch checkpoints (checkpointN.pt) but {n} are to be averaged; "
             "train longer, keep more (--keep-last-epochs) or set a smaller AVG")
    return [path for _, path in sorted(found)[-n:]]


def cmd_average(args):
    import torch
    import lite_fairseq  # noqa: F401  (the checkpoint allow-list for weights_only loading)
    from lite_fairseq.checkpoint_safety import load_checkpoint

    paths = _last_epoch_checkpoints(args.last[1], int(args.last[0])) if args.last else args.checkpoints
    if not paths:
        _die("nothing to average: give checkpoint files or --last N DIR")
    total, first = None, None
    for path in paths:
        state = load_checkpoint(path)
        weights = state["model"]
        if first is None:
            first, total = state, {k: v.detach().double().clone() for k, v in weights.items()}
        else:
            if weights.keys() != total.keys():
                _die(f"{path} has other parameters than {paths[0]}; only checkpoints of one run can be averaged")
            for k, v in weights.items():
                total[k] += v.double()
    dtypes = {k: v.dtype for k, v in first["model"].items()}
    first["model"] = {k: (v / len(paths)).to(dtypes[k]) for k, v in total.items()}
    first["optimizer_history"] = first.get("optimizer_history", [])[-1:]
    first.pop("last_optimizer_state", None)  # the average is for decoding, not for resuming
    torch.save(first, args.output)
    print(f"averaged {len(paths)} checkpoints into {args.output}: {' '.join(os.path.basename(p) for p in paths)}")


_GEN_LINE = re.compile(r"^([HT])-(\d+)\t(.*)$")


def cmd_hyps(args):
    found = {"H": {}, "T": {}}
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            m = _GEN_LINE.match(line.rstrip("\n"))
            if m:
                kind, idx, rest = m.groups()
                found[kind][int(idx)] = rest.split("\t", 1)[1] if kind == "H" else rest
    if not found["H"]:
        _die(f"{args.log} holds no hypothesis lines (H-...); did fairseq-generate fail?")
    if sorted(found["H"]) != sorted(found["T"]):
        _die(f"{args.log}: hypotheses and references do not pair up")
    for kind, path in (("H", args.hyp), ("T", args.ref)):
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(found[kind][i] + "\n" for i in sorted(found[kind]))


_COMPOUND = re.compile(r"(\S)-(\S)")


def compound_split(line):
    # one pass, like the perl one-liner s{(\S)-(\S)}{$1 ##AT##-##AT## $2}g (so "a-b-c" keeps its second hyphen)
    return _COMPOUND.sub(r"\1 ##AT##-##AT## \2", line)


def cmd_compound_split(args):
    for line in _lines(sys.stdin):
        print(compound_split(line))


def cmd_bleu(args):
    import sacrebleu

    with open(args.hyp, encoding="utf-8") as h, open(args.ref, encoding="utf-8") as r:
        hyps, refs = h.read().splitlines(), r.read().splitlines()
    if len(hyps) != len(refs):
        _die(f"{args.hyp} has {len(hyps)} lines but {args.ref} has {len(refs)}")
    bleu = sacrebleu.metrics.BLEU(tokenize="none", force=True)
    print(bleu.corpus_score(hyps, [refs]).format())


def cmd_detokenize(args):
    from sacremoses import MosesDetokenizer

    detok = MosesDetokenizer(lang=args.lang)
    for line in _lines(sys.stdin):
        print(detok.detokenize(line.split()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("download")
    p.add_argument("url")
    p.add_argument("file")
    sub.add_parser("strip-iwslt-tags")
    p = sub.add_parser("segs")
    p.add_argument("file")
    p = sub.add_parser("tokenize")
    p.add_argument("-l", "--lang", required=True)
    p.add_argument("-a", "--aggressive", action="store_true")
    p.add_argument("--normalize", action="store_true")
    p.add_argument("--lowercase", action="store_true")
    p.add_argument("--workers", type=int, default=1)
    p = sub.add_parser("clean")
    p.add_argument("--ratio", type=float, required=True)
    p.add_argument("--min", type=int, required=True)
    p.add_argument("--max", type=int, required=True)
    for name in ("prefix", "src", "tgt", "out"):
        p.add_argument(name)
    p = sub.add_parser("batch")
    p.add_argument("--tokens-per-update", type=int, required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--gpus", type=int, required=True)
    p = sub.add_parser("average")
    p.add_argument("--output", required=True)
    p.add_argument("--last", nargs=2, metavar=("N", "DIR"))
    p.add_argument("checkpoints", nargs="*")
    p = sub.add_parser("hyps")
    for name in ("log", "hyp", "ref"):
        p.add_argument(name)
    sub.add_parser("compound-split")
    p = sub.add_parser("bleu")
    p.add_argument("hyp")
    p.add_argument("ref")
    p = sub.add_parser("detokenize")
    p.add_argument("-l", "--lang", required=True)
    args = parser.parse_args(argv)
    globals()["cmd_" + args.command.replace("-", "_")](args)


if __name__ == "__main__":
    main()
