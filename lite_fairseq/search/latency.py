"""Latency of SubTransformers on this device, measured as ``lite-fairseq-profile --latency`` measures it, and the
measurement files the latency predictor is trained on.

A SubTransformer is built as the plain ``lite_transformer`` of the same design (the options of
:func:`lite_fairseq.search.space.lite_transformer_args`, random weights, no data: the profiler's builder), then the
profiler's :func:`lite_fairseq.profiler.latency.time_translations` times translating one ``src_len``-token sentence:
the encoder once and exactly ``steps`` incremental decoder steps (greedy, or beam search with ``beam``), batch 1,
``warmup`` untimed runs, then the median (and the minimum) of ``repeats`` timed runs.

Files: ``.json`` holds the measuring conditions, the design space and one entry per design; ``.csv`` one row per
design (``latency_ms``, ``min_ms``, the conditions, ``config`` as the design's JSON). Any other suffix is refused.
"""

import csv
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from lite_fairseq.profiler import ProfilerError, build
from lite_fairseq.profiler.latency import time_translations

from .errors import SearchError
from .space import SearchSpace, SearchSpaceError, SubConfig, lite_transformer_args

FORMATS = (".json", ".csv")


@dataclass
class Conditions:
    """How the latencies were measured; the predictor keeps them, the winner of a search is measured alike."""
    device: str = "cpu"
    threads: int = 1
    beam: int = 1
    src_len: int = 30
    steps: int = 30
    src_vocab: int = 10000
    tgt_vocab: int = 10000
    repeats: int = 10
    warmup: int = 2
    cpu_time: bool = False

    @classmethod
    def stored(cls, values: Dict) -> "Conditions":
        """The conditions kept in a predictor's or report's dictionary (unknown keys ignored)."""
        return cls(**{k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__})


@dataclass
class Measurement:
    config: SubConfig
    latency_ms: float  # median
    min_ms: float


def arch_and_overrides(sub: SubConfig, space: SearchSpace) -> Tuple[str, List[str]]:
    """``(arch, overrides)`` of the plain model of ``sub``: ``lite_transformer_args`` split at ``--arch``."""
    args = list(lite_transformer_args(sub, space))
    arch = "lite_transformer"
    if "--arch" in args:
        i = args.index("--arch")
        arch = args[i + 1]
        del args[i:i + 2]
    return arch, args


def build_plain(sub: SubConfig, space: SearchSpace, src_vocab: int, tgt_vocab: int):
    """The plain model of ``sub`` with random weights (eval mode, CPU), as the profiler builds it."""
    arch, overrides = arch_and_overrides(sub, space)
    try:
        return build(arch, overrides, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
    except ProfilerError as err:
        raise SearchError(f"cannot build the design {sub.to_json()}: {err}") from None


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise SearchError(f"--device: expected cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise SearchError("--device cuda: no CUDA device is available here; measure with --device cpu")


def check_conditions(c: Conditions) -> None:
    """Refuse conditions no model can be timed under, before any model is built."""
    check_device(c.device)
    if c.threads < 1 or c.repeats < 1 or c.warmup < 0 or c.beam < 1:
        raise SearchError("--threads, --repeats and --beam must be at least 1, --warmup at least 0")


def measure(configs: Sequence[SubConfig], space: SearchSpace, conditions: Conditions,
            log: Callable[[str], None] = lambda line: None) -> List[Measurement]:
    """Time each design in turn under ``conditions`` (``torch.set_num_threads(conditions.threads)`` for the
    duration)."""
    c = conditions
    check_conditions(c)
    out = []
    for i, sub in enumerate(configs):
        median, minimum = time_built(build_plain(sub, space, c.src_vocab, c.tgt_vocab), c)
        out.append(Measurement(sub, median, minimum))
        log(f"[{i + 1}/{len(configs)}] {median:8.2f} ms (min {minimum:.2f})")
    return out


def time_built(built, conditions: Conditions) -> Tuple[float, float]:
    """(median, minimum) milliseconds of one built model (the profiler's :class:`BuiltModel`) under
    ``conditions`` (checked by the caller with :func:`check_conditions`), on their device, with
    ``torch.set_num_threads(conditions.threads)`` for the duration."""
    c = conditions
    previous = torch.get_num_threads()
    torch.set_num_threads(c.threads)
    try:
        built.model.to(c.device)
        (median, minimum), = time_translations([built], c.src_len, c.steps, c.beam, c.repeats, c.warmup, c.cpu_time)
    finally:
        torch.set_num_threads(previous)
    return median, minimum


def designs_to_measure(space: SearchSpace, samples: int, seed: int) -> List[SubConfig]:
    """The largest and the smallest design, then ``samples`` distinct random ones (fewer when the space has
    fewer)."""
    if samples < 0:
        raise SearchError(f"--samples must not be negative, got {samples}")
    rng = random.Random(seed)
    designs = [space.largest(), space.smallest()]
    seen = {d.to_json() for d in designs}
    tries = 0
    while len(designs) < samples + 2 and tries < 100 * (samples + 2):
        tries += 1
        sub = space.sample(rng)
        if sub.to_json() not in seen:
            seen.add(sub.to_json())
            designs.append(sub)
    return designs


def _suffix(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise SearchError(f"measurements file {str(path)!r}: the name must end in .json or .csv")
    return suffix


def write_measurements(path, measurements: Sequence[Measurement], space: SearchSpace, conditions: Conditions) -> None:
    cond = asdict(conditions)
    if _suffix(path) == ".json":
        doc = {"conditions": cond, "torch": torch.__version__, "load_average": os.getloadavg()[0],
               "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "space": space.to_dict(),
               "measurements": [{"latency_ms": m.latency_ms, "min_ms": m.min_ms, "config": m.config.to_dict()}
                                for m in measurements]}
        Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["latency_ms", "min_ms", *cond, "config"])
        for m in measurements:
            writer.writerow([f"{m.latency_ms:.6g}", f"{m.min_ms:.6g}", *cond.values(), m.config.to_json()])


def _positive_ms(value, where: str) -> float:
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise SearchError(f"{where}: latency {value!r} is not a number") from None
    if not ms > 0 or ms == float("inf"):
        raise SearchError(f"{where}: latency {value!r} must be a positive number of milliseconds")
    return ms


def _conditions(raw: Dict, where: str) -> Conditions:
    fields = Conditions.__dataclass_fields__
    try:
        values = {k: fields[k].type(v) if fields[k].type is not bool else str(v).lower() in ("true", "1")
                  for k, v in raw.items() if k in fields}
    except (TypeError, ValueError) as err:
        raise SearchError(f"{where}: malformed measuring conditions ({err})") from None
    return Conditions(**values)


def read_measurements(path, space: Optional[SearchSpace] = None
                      ) -> Tuple[List[Measurement], SearchSpace, Conditions]:
    """Read a file written by :func:`write_measurements`. The space is ``space`` when given (a CSV file holds
    none: then the default space), else the JSON file's; every design must belong to it. Raises
    :class:`SearchError` naming the file, the row and what is wrong."""
    suffix = _suffix(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SearchError(f"--measurements: no such file {str(path)!r} (write one with "
                          "`lite-fairseq-search latency --out FILE`)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SearchError(f"--measurements: cannot read {str(path)!r}: {err}") from None
    rows: List[Tuple[str, Dict, object, object, object]] = []  # (where, conditions, latency, minimum, config)
    try:
        if suffix == ".json":
            doc = json.loads(text)
            if not isinstance(doc, dict) or not isinstance(doc.get("measurements"), list):
                raise SearchError(f"{path}: expected a JSON object with a \"measurements\" list")
            if space is None and doc.get("space") is not None:
                space = SearchSpace.from_dict(doc["space"])
            cond = doc.get("conditions") or {}
            if not isinstance(cond, dict):
                raise SearchError(f"{path}: \"conditions\" must be an object")
            for i, m in enumerate(doc["measurements"]):
                if not isinstance(m, dict):
                    raise SearchError(f"{path}: measurement {i} is not an object")
                rows.append((f"{path}: measurement {i}", cond, m.get("latency_ms"), m.get("min_ms"), m.get("config")))
        else:
            reader = csv.DictReader(text.splitlines())
            missing = {"latency_ms", "config"} - set(reader.fieldnames or ())
            if missing:
                raise SearchError(f"{path}: not a measurements file: no column(s) {', '.join(sorted(missing))}")
            for line, row in enumerate(reader, start=2):
                config = row.get("config")
                try:
                    config = json.loads(config) if config else None
                except json.JSONDecodeError as err:
                    raise SearchError(f"{path}: line {line}: the config is not valid JSON ({err})") from None
                rows.append((f"{path}: line {line}", row, row.get("latency_ms"), row.get("min_ms"), config))
    except json.JSONDecodeError as err:
        raise SearchError(f"{path}: not valid JSON ({err}); was the file cut short?") from None
    except SearchSpaceError as err:
        raise SearchError(f"{path}: {err}") from None
    except csv.Error as err:
        raise SearchError(f"{path}: malformed CSV ({err})") from None
    if not rows:
        raise SearchError(f"{path}: holds no measurements")
    space = space or SearchSpace.default()
    out, conditions = [], None
    for where, cond, latency, minimum, config in rows:
        ms = _positive_ms(latency, where)
        min_ms = ms if minimum in (None, "") else _positive_ms(minimum, where)
        try:
            sub = SubConfig.from_dict(config)
        except SearchSpaceError as err:
            raise SearchError(f"{where}: {err}") from None
        if not space.contains(sub):
            raise SearchError(f"{where}: the design is not in the search space; give the --space the "
                              "measurements were taken with")
        out.append(Measurement(sub, ms, min_ms))
        conditions = conditions or _conditions(cond, where)
    return out, space, conditions
