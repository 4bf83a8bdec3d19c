"""Decode an exported Lite Transformer / Transformer without fairseq: ``python runtime.py DIR --beam 4``.

Reads BPE-ed source lines on stdin and writes one BPE-ed hypothesis per line on stdout (the text of
fairseq-interactive's H lines: the target string without BOS/EOS). An empty (or all-blank) input line gives an
empty output line, so output lines stay aligned with input lines; nothing is decoded for it.

Search follows fairseq's SequenceGenerator: the source gets EOS appended, unknown words map to <unk>, decoding
starts from EOS, max length = a * source length (incl. EOS) + b (clamped to the export's --max-target-len: a
hypothesis that reaches that clamp is printed with a warning on stderr, since fairseq might go on), at least
one token before EOS, <pad> never emitted, 2 x beam candidates per step with the first ``beam`` EOS candidates
finalised, score = sum of log-probabilities / (hypothesis length incl. EOS) ** lenpen.

Needs numpy and the runtime of the export: ``onnxruntime`` (no torch) or ``executorch`` (its Python bindings
import torch). This file is self-contained: the exporter copies it beside the programs.
"""

import argparse
import contextlib
import hashlib
import json
import logging
import os
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

FORMAT_VERSION = 2  # 2: self-attention caches that grow by one position per step
MANIFEST = "manifest.json"
FORMATS = ("executorch", "onnx")


TGT_LEN = "tgt_len"  # the manifest's state dim of the positions decoded so far
# Loggers that speak when ExecuTorch's Python package is imported (it imports torchao), about nothing that concerns
# running or writing an export: torchao's CUDA-only extensions failing to load on a CPU build of torch ("Failed to
# load ... .so"), and torch's note on an enum torchao registers.
IMPORT_NOISE_LOGGERS = ("torchao", "torch.utils._pytree")


@contextlib.contextmanager
def quiet_loggers(names: Sequence[str]):
    """Within the block, the loggers ``names`` pass errors only; their levels are restored after it."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def rows_per_batch_row(dim: str) -> int:
    """N of a manifest state dim ``"batch*N"`` (1 for ``"batch"``)."""
    return int(dim.partition("*")[2] or 1)


def state_size(dim, batch: int, tgt_len: int) -> int:
    """The size of a manifest state dim (an int, ``"batch"``, ``"batch*N"`` or ``"tgt_len"``) for ``batch`` rows
    after ``tgt_len`` decoded positions."""
    if isinstance(dim, int):
        return dim
    if dim == TGT_LEN:
        return tgt_len
    return batch * rows_per_batch_row(dim)


def take_rows(state: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A state tensor's batch rows ``rows`` (viewed as ``batch x -1``; a dim "batch*N" holds N rows each)."""
    return state.reshape(rows.size, -1)[rows].reshape(state.shape)


class DeployError(RuntimeError):
    """A damaged or mismatched export directory, or input it cannot decode; the message says what to do."""


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(directory: str) -> dict:
    """Read and check DIR/manifest.json and the files it lists (present, untruncated, unchanged)."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        raise DeployError(f"{path} not found: {directory!r} is not an export directory (make one with "
                          "lite-fairseq-export --path CHECKPOINT --data DATA_BIN --format ... --out DIR)")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise DeployError(f"{path} is not valid JSON ({err}); export the model again") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise DeployError(f"{path} has format_version {version!r} but this runtime reads version {FORMAT_VERSION}; "
                          "export again with this version of lite-fairseq-export, or use the runtime.py copied "
                          "into that export directory")
    for key in ("format", "programs", "dictionaries", "symbols", "state", "cross", "max_target_len",
                "max_source_len", "max_batch"):
        if key not in manifest:
            raise DeployError(f"{path} lacks the entry {key!r}; export the model again")
    if manifest["format"] not in FORMATS:
        raise DeployError(f"{path}: unknown format {manifest['format']!r} (expected one of {', '.join(FORMATS)})")
    files = [manifest["programs"][name] for name in ("encoder", "decoder")]
    files += [manifest["dictionaries"][side] for side in ("source", "target")]
    for entry in files:
        file_path = os.path.join(directory, entry["file"])
        if not os.path.isfile(file_path):
            raise DeployError(f"{file_path} is missing from the export directory; export the model again")
        size = os.path.getsize(file_path)
        if size != entry["bytes"]:
            raise DeployError(f"{file_path} has {size} bytes but the manifest says {entry['bytes']}: the file is "
                              "truncated or was replaced; copy or export it again")
        if sha256_of(file_path) != entry["sha256"]:
            raise DeployError(f"{file_path} does not match the checksum in the manifest: the file is damaged or "
                              "belongs to another export; copy or export it again")
    return manifest


class Dictionary:
    """fairseq's dictionary file (``symbol count`` lines) after the special symbols listed in the manifest."""

    def __init__(self, path: str, specials: Sequence[str], unk: int, expected_size: int):
        self.symbols = list(specials)
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if line.endswith(" #fairseq:overwrite"):
                    line = line[: -len(" #fairseq:overwrite")]
                word, sep, _count = line.rpartition(" ")
                if not sep or not word:
                    raise DeployError(f"{path}, line {number}: expected 'symbol count', got {line!r}")
                self.symbols.append(word)
        if len(self.symbols) != expected_size:
            raise DeployError(f"{path} has {len(self.symbols)} symbols but the model was exported with "
                              f"{expected_size}: the dictionary belongs to another model; export again")
        self.index = {}
        for i, word in enumerate(self.symbols):
            self.index.setdefault(word, i)
        self.unk = unk

    def encode(self, line: str) -> List[int]:
        return [self.index.get(word, self.unk) for word in line.split()]

    def string(self, ids: Sequence[int], skip: Sequence[int]) -> str:
        return " ".join(self.symbols[i] for i in ids if i not in skip)


class OnnxProgram:
    def __init__(self, path: str, threads: int):
        try:
            import onnxruntime
        except ImportError:
            raise DeployError("this export needs onnxruntime: pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for damaged files
            raise DeployError(f"onnxruntime cannot load {path} ({type(err).__name__}: {err}); export again") from None
        self.names = [i.name for i in self.session.get_inputs()]

    # The decode loop passes the program's own values from one step to the next (see ExecutorchProgram); for
    # onnxruntime they are numpy arrays.
    def native(self, array: np.ndarray) -> np.ndarray:
        return array

    def numpy(self, value: np.ndarray) -> np.ndarray:
        return value

    def take_rows(self, values: Sequence[np.ndarray], rows: np.ndarray) -> List[np.ndarray]:
        return [take_rows(v, rows) for v in values]

    def run_native(self, values: Sequence[np.ndarray]) -> List[np.ndarray]:
        return self.session.run(None, dict(zip(self.names, values)))

    def run(self, inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        return self.run_native(inputs)


class ExecutorchProgram:
    def __init__(self, path: str, threads: int):
        try:
            import torch
            with quiet_loggers(IMPORT_NOISE_LOGGERS):
                from executorch.extension.pybindings import portable_lib
                from executorch.runtime import Runtime
        except ImportError:
            raise DeployError("this export needs ExecuTorch's Python runtime (which imports torch): pip install "
                              "executorch") from None
        if threads > 0:  # ExecuTorch's own pool (XNNPACK) and torch's, which some of its CPU kernels run on
            portable_lib._unsafe_reset_threadpool(threads)
            torch.set_num_threads(threads)
        self.torch = torch
        try:
            self.method = Runtime.get().load_program(path).load_method("forward")
        except Exception as err:  # ExecuTorch raises RuntimeError/ValueError for damaged programs
            raise DeployError(f"ExecuTorch cannot load {path} ({type(err).__name__}: {err}); export again") from None

    # The decode loop keeps the encoder's output and the decoder state as the torch tensors ExecuTorch returns
    # (copies of its buffers) and converts only the log-probabilities: converting some 30 state tensors to numpy
    # and back at every step cost a Lite WMT-200 greedy decode 2-9% (old and new runtime timed in turn).
    def native(self, array: np.ndarray):
        if array.size == 0:  # the empty caches of the first step: torch's strides, which ExecuTorch checks
            return self.torch.empty(array.shape, dtype=self.torch.float32)
        return self.torch.from_numpy(np.ascontiguousarray(array))

    def numpy(self, value) -> np.ndarray:
        return value.numpy()

    def take_rows(self, values: Sequence, rows: np.ndarray) -> list:  # numpy's indexing costs less than torch's
        return [self.torch.from_numpy(take_rows(v.numpy(), rows)) for v in values]

    def run_native(self, values: Sequence) -> list:
        return self.method.execute(values)

    def run(self, inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        return [o.numpy() for o in self.run_native([self.native(a) for a in inputs])]


class Translator:
    def __init__(self, directory: str, threads: int = 0):
        self.manifest = m = load_manifest(directory)
        symbols = m["symbols"]
        self.bos, self.pad, self.eos, self.unk = (symbols[k] for k in ("bos", "pad", "eos", "unk"))
        dicts = m["dictionaries"]
        self.src_dict, self.tgt_dict = (
            Dictionary(os.path.join(directory, dicts[side]["file"]), symbols["specials"], self.unk,
                       dicts[side]["size"]) for side in ("source", "target"))
        program = OnnxProgram if m["format"] == "onnx" else ExecutorchProgram
        self.encoder, self.decoder = (program(os.path.join(directory, m["programs"][name]["file"]), threads)
                                      for name in ("encoder", "decoder"))
        self.max_target_len = int(m["max_target_len"])
        self.cut_short: Optional[Tuple[int, int]] = None  # (the export's limit, fairseq's) when the last search hit it

    def initial_state(self, rows: int) -> List[np.ndarray]:
        """The decoder state before the first step: no position decoded, ``rows`` batch rows."""
        return [np.zeros([state_size(d, rows, 0) for d in entry["shape"]], np.float32)
                for entry in self.manifest["state"]]

    def encode(self, line: str) -> np.ndarray:
        ids = self.src_dict.encode(line) + [self.eos]
        limit = self.manifest["max_source_len"]
        if len(ids) > limit:
            raise DeployError(f"a source line of {len(ids)} tokens (with EOS) is longer than the model's {limit} "
                              "source positions; split or truncate it")
        return np.array([ids], dtype=np.int64)

    def search(self, src: np.ndarray, beam: int = 5, lenpen: float = 1.0, max_len_a: float = 0.0,
               max_len_b: int = 200, min_len: int = 1, unkpen: float = 0.0) -> List[int]:
        """fairseq's beam search (beam 1 = greedy) for one sentence; returns the best hypothesis with EOS.
        ``cut_short`` tells afterwards whether it ended at the export's length limit below the one asked for."""
        if not 1 <= beam <= self.manifest["max_batch"]:
            raise DeployError(f"--beam {beam}: must lie between 1 and {self.manifest['max_batch']} (the export's "
                              "largest batch)")
        wanted = int(max_len_a * src.shape[1] + max_len_b)
        max_len = min(wanted, self.max_target_len - 1)
        self.cut_short = None
        program = self.decoder
        cross = self.encoder.run_native([self.encoder.native(src)])  # the programs' own values, not numpy
        states = [program.native(s) for s in self.initial_state(beam)]
        tokens = np.full((beam, max_len + 2), self.pad, dtype=np.int64)
        tokens[:, 0] = self.eos
        scores = np.zeros((beam, max_len + 1), dtype=np.float32)
        ignore = np.zeros(beam, dtype=bool)
        finalized = []
        for step in range(max_len + 1):
            inputs = [program.native(tokens[:, step:step + 1]), program.native(np.array([step], dtype=np.int64))]
            out = program.run_native(inputs + cross + states)
            lprobs, states = np.array(program.numpy(out[0]), dtype=np.float32), list(out[1:])
            lprobs[np.isnan(lprobs)] = -np.inf
            lprobs[:, self.pad] = -np.inf
            lprobs[:, self.unk] -= unkpen
            if step >= max_len:
                eos_col = lprobs[:, self.eos].copy()
                lprobs[:] = -np.inf
                lprobs[:, self.eos] = eos_col
            if step < min_len:
                lprobs[:, self.eos] = -np.inf
            cand = lprobs[:1] if step == 0 else lprobs + scores[:, step - 1:step]
            flat = cand.reshape(-1)
            k = min(2 * beam, flat.size - 1)
            top = np.argpartition(-flat, k - 1)[:k]
            top = top[np.argsort(-flat[top], kind="stable")]
            cand_scores, cand_beams, cand_tokens = flat[top], top // lprobs.shape[1], top % lprobs.shape[1]
            eos_mask = (cand_tokens == self.eos) & (cand_scores != -np.inf)
            eos_mask[:beam][ignore] = False
            for c in np.nonzero(eos_mask[:beam])[0]:
                if len(finalized) < beam:
                    hypo = tokens[cand_beams[c], 1:step + 1].tolist() + [self.eos]
                    finalized.append((cand_scores[c] / (step + 1) ** lenpen, hypo))
            if len(finalized) == beam or (eos_mask[:beam].any() and step == max_len):
                break
            eos_mask[:beam] = ~(~ignore & ~eos_mask[:beam])
            active_mask = eos_mask.astype(np.int64) * (2 * beam) + np.arange(k)
            active = np.argsort(active_mask, kind="stable")[:beam]
            ignore = active_mask[active] >= 2 * beam
            rows = cand_beams[active]
            tokens[:, :step + 1] = tokens[rows, :step + 1]
            tokens[:, step + 1] = cand_tokens[active]
            scores[:, :step] = scores[rows, :step]
            scores[:, step] = cand_scores[active]
            if (rows != np.arange(beam)).any():  # the rows moved: reorder the state (greedy: never)
                states = program.take_rows(states, rows)  # caches hold >= 1 position here
        if not finalized:
            return [self.eos]
        best = max(finalized, key=lambda item: item[0])[1]
        if wanted > max_len and len(best) > max_len:  # ended at the export's limit, which fairseq's options pass
            self.cut_short = (max_len, wanted)
        return best

    def translate(self, line: str, **options) -> str:
        if not line.strip():
            self.cut_short = None
            return ""
        hypo = self.search(self.encode(line), **options)
        return self.tgt_dict.string(hypo, skip=(self.eos, self.bos))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="export directory (lite-fairseq-export --out)")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--lenpen", type=float, default=1.0)
    parser.add_argument("--max-len-a", type=float, default=0.0)
    parser.add_argument("--max-len-b", type=int, default=200)
    parser.add_argument("--min-len", type=int, default=1)
    parser.add_argument("--unkpen", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the runtime's default)")
    args = parser.parse_args(argv)
    try:
        translator = Translator(args.dir, args.threads)
        options = dict(beam=args.beam, lenpen=args.lenpen, max_len_a=args.max_len_a, max_len_b=args.max_len_b,
                       min_len=args.min_len, unkpen=args.unkpen)
        for number, line in enumerate(sys.stdin, 1):
            try:
                print(translator.translate(line, **options), flush=True)
            except DeployError as err:
                raise DeployError(f"input line {number}: {err}") from None
            if translator.cut_short:
                limit, wanted = translator.cut_short
                print(f"warning: input line {number}: the hypothesis reached the export's limit of {limit} target "
                      f"tokens (exported with --max-target-len {translator.max_target_len}) where --max-len-a/"
                      f"--max-len-b allow {wanted}, so it may be cut short of fairseq's; export again with "
                      f"--max-target-len {wanted + 1} or more", file=sys.stderr, flush=True)
    except DeployError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
