"""Do the exports translate like fairseq-generate? (issue 14, items 2 and 3)

Runs ``fairseq-generate`` (batch 1, so no padding) on a binarised test set, greedy and beam N, then decodes the
same source lines (fairseq's S lines) with ONNX and ExecuTorch exports of the checkpoint, float32 and int8, through
the standalone runtime, and prints side by side for each export and beam: how many hypotheses are identical to
fairseq-generate's H lines, BLEU against the T lines (sacrebleu, BPE removed) next to fairseq-generate's, and the
difference. The issue's goals: greedy identical on every sentence, beam identical on >= 99.5% with BLEU within 0.05
(float32); int8 BLEU within 0.3 of the float32 export. The verdict column says whether each row meets its goal.

    python benchmarks/deploy_agreement.py --path ckpt/checkpoint_best.pt --data data-bin --workdir agree_work

Decode times are printed for orientation only (the runtime decodes one sentence at a time, fairseq-generate runs in
its own process); the latency comparison is benchmarks/deploy_latency.py.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lite_fairseq.deploy import export as exporter  # noqa: E402
from lite_fairseq.deploy.runtime import Translator  # noqa: E402

FORMATS = ("onnx", "executorch")
GREEDY_MIN_IDENTICAL = 1.0  # greedy: every sentence
BEAM_MIN_IDENTICAL = 0.995
BEAM_MAX_BLEU_DIFF = 0.05
INT8_MAX_BLEU_DIFF = 0.3

_LINE = re.compile(r"^([STH])-(\d+)\t(.*)$", re.M)


def parse_generate(stdout: str) -> Tuple[List[str], List[str], List[str]]:
    """fairseq-generate's S, T and H lines in sentence order (H without its score)."""
    found: Dict[str, Dict[int, str]] = {"S": {}, "T": {}, "H": {}}
    for kind, number, text in _LINE.findall(stdout):
        if kind == "H":
            text = text.split("\t", 1)[1] if "\t" in text else ""
        found[kind][int(number)] = text
    ids = sorted(found["H"])
    if not ids:
        raise SystemExit("fairseq-generate printed no hypotheses; see its output above")
    return ([found["S"].get(i, "") for i in ids], [found["T"].get(i, "") for i in ids], [found["H"][i] for i in ids])


def generate(args, beam: int) -> Tuple[List[str], List[str], List[str], float]:
    import lite_fairseq

    command = [sys.executable, "-m", "fairseq_cli.generate", args.data, "--user-dir",
               os.path.dirname(lite_fairseq.__file__), "--path", args.path, "--gen-subset", args.subset,
               "--beam", str(beam), "--nbest", "1", "--lenpen", str(args.lenpen), "--max-len-a", str(args.max_len_a),
               "--max-len-b", str(args.max_len_b), "--batch-size", "1", "--num-workers", "0", "--cpu"]
    saved = os.path.join(args.workdir, f"generate_beam{beam}.txt")
    if args.reuse and os.path.isfile(saved):
        with open(saved, encoding="utf-8") as f:
            return (*parse_generate(f.read()), float("nan"))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"fairseq-generate failed (exit {proc.returncode}): {' '.join(command)}")
    with open(saved, "w", encoding="utf-8") as f:
        f.write(proc.stdout)
    return (*parse_generate(proc.stdout), seconds)


def bleu(hyps: Sequence[str], refs: Sequence[str], bpe: str) -> float:
    import sacrebleu

    strip = (lambda s: (s + " ").replace(bpe + " ", "").rstrip()) if bpe else (lambda s: s)
    return sacrebleu.corpus_bleu([strip(h) for h in hyps], [[strip(r) for r in refs]]).score


def verdict(beam: int, identical: float, bleu_diff: float, int8_diff: Optional[float]) -> str:
    if int8_diff is not None:
        return "yes" if abs(int8_diff) <= INT8_MAX_BLEU_DIFF else "NO"
    if beam == 1:
        return "yes" if identical >= GREEDY_MIN_IDENTICAL else "NO"
    return "yes" if identical >= BEAM_MIN_IDENTICAL and abs(bleu_diff) <= BEAM_MAX_BLEU_DIFF else "NO"


def exports(args, sources_dir: str) -> Dict[str, str]:
    """Export (or, with --reuse, find) each requested program directory: {'onnx int8': DIR, ...}."""
    wanted = [(fmt, int8) for fmt in args.formats for int8 in ((False, True) if args.int8 else (False,))]
    dirs, spec, task = {}, None, None
    for fmt, int8 in wanted:
        name = f"{fmt}{' int8' if int8 else ''}"
        recipe = args.int8_recipe if int8 and fmt == "onnx" else None
        out = os.path.join(args.workdir, f"{fmt}_{'int8' if int8 else 'float32'}" + (f"_{recipe}" if recipe else ""))
        if not (args.reuse and os.path.isfile(os.path.join(out, "manifest.json"))):
            if spec is None:
                from lite_fairseq.deploy.adapter import read_model

                model, model_args, task = exporter.load_checkpoint(args.path, sources_dir)
                spec = read_model(model, model_args)
                exporter.quiet_exporters()
            start = time.perf_counter()
            exporter.export(spec, task.source_dictionary, task.target_dictionary, out, fmt, int8=int8,
                            max_target_len=args.max_target_len, max_batch=max(2, *args.beams), int8_recipe=recipe)
            print(f"exported {name} in {time.perf_counter() - start:.0f} s", flush=True)
        dirs[name] = out
    return dirs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", required=True, help="the trained checkpoint")
    parser.add_argument("--data", required=True, help="data-bin with the model's dictionaries and the test split")
    parser.add_argument("--subset", default="test")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True,
                        help="also the --int8 exports (default: yes)")
    parser.add_argument("--int8-recipe", choices=sorted(exporter.backends.ONNX_INT8_RECIPES), default=None,
                        help="onnxruntime int8 recipe of the onnx int8 export (default: the exporter's)")
    parser.add_argument("--beams", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--lenpen", type=float, default=1.0)
    parser.add_argument("--max-len-a", type=float, default=1.2)
    parser.add_argument("--max-len-b", type=int, default=10)
    parser.add_argument("--max-target-len", type=int, default=256, help="the exports' longest target (positions)")
    parser.add_argument("--remove-bpe", default="@@", help="BPE continuation marker removed before BLEU")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", required=True, help="where the exports are written")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the exports and fairseq-generate outputs already in --workdir")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    print(f"load average at the start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    reference = {beam: generate(args, beam) for beam in args.beams}
    dirs = exports(args, args.data)
    n = len(reference[args.beams[0]][2])
    print(f"{n} sentences of {args.data} ({args.subset}), lenpen {args.lenpen}, max length {args.max_len_a} * "
          f"source + {args.max_len_b}, {args.threads} thread(s); fairseq-generate batch 1")
    print(f"  {'engine':<18}{'beam':>5}{'identical':>20}{'BLEU':>8}{'fairseq':>9}{'diff':>8}{'vs fp32':>9}"
          f"{'decode s':>10}{'goal met':>10}")
    for beam in args.beams:
        sources, refs, hyps, seconds = reference[beam]
        fairseq_bleu = bleu(hyps, refs, args.remove_bpe)
        timing = "-" if seconds != seconds else f"{seconds:.1f}"  # NaN: output reused from --workdir
        print(f"  {'fairseq-generate':<18}{beam:>5}{'':>20}{fairseq_bleu:>8.2f}{'':>9}{'':>8}{'':>9}{timing:>10}")
        float_bleu = {}
        for name, directory in dirs.items():
            translator = Translator(directory, threads=args.threads)
            start = time.perf_counter()
            out = [translator.translate(s, beam=beam, lenpen=args.lenpen, max_len_a=args.max_len_a,
                                        max_len_b=args.max_len_b) for s in sources]
            seconds = time.perf_counter() - start
            same = sum(a == b for a, b in zip(out, hyps))
            score = bleu(out, refs, args.remove_bpe)
            fmt, _, int8 = name.partition(" ")
            int8_diff = score - float_bleu[fmt] if int8 and fmt in float_bleu else None
            if not int8:
                float_bleu[fmt] = score
            print(f"  {name:<18}{beam:>5}{f'{same}/{n} ({100 * same / n:.1f}%)':>20}{score:>8.2f}"
                  f"{fairseq_bleu:>9.2f}{score - fairseq_bleu:>+8.2f}"
                  f"{'' if int8_diff is None else f'{int8_diff:+.2f}':>9}{seconds:>10.1f}"
                  f"{verdict(beam, same / n, score - fairseq_bleu, int8_diff if int8 else None):>10}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
