"""Render a :class:`~lite_fairseq.profiler.counting.ProfileResult` as a readable table or as JSON."""

import json
from typing import List

from .counting import PARTS, ProfileResult


def _m(n: float) -> str:
    return f"{n / 1e6:.2f}M"


def _cell(n: int) -> str:
    return f"{n / 1e6:10.3f}" if n else f"{'-':>10}"


def format_table(r: ProfileResult) -> str:
    lines: List[str] = []
    if r.task == "translation":
        what = (f"translation of a {r.src_len}-token source into a {r.tgt_len}-token target; "
                f"vocabularies {r.src_vocab} (source) / {r.tgt_vocab} (target)")
    else:
        what = f"decoder-only language model over {r.tgt_len} tokens; vocabulary {r.tgt_vocab}"
    lines.append(f"{r.arch}: {what}")
    other_mode = "incremental" if r.decoder_mode == "full" else "full"
    mode_text = {
        "full": f"one teacher-forced pass over {r.tgt_len} target tokens (causal self-attention counted over the "
                f"full {r.tgt_len}x{r.tgt_len} scores)",
        "incremental": f"{r.tgt_len} incremental single-token steps (step t attends t positions)",
    }
    lines.append(f"decoder counted as {mode_text[r.decoder_mode]}; "
                 f"{other_mode}: {_m(getattr(r, 'macs_' + other_mode))} Mult-Adds")
    lines.append("")
    lines.append("#Params")
    rows = [
        ("total", r.params),
        ("embeddings (token, positional, adaptive input)", r.params_embeddings),
        ("output projection (when not tied to an embedding)", r.params_output_projection),
        ("without embeddings and output projection", r.params_without_embeddings),
        ("without embeddings, with output projection", r.params_without_embeddings_with_output_projection),
    ]
    for label, n in rows:
        lines.append(f"  {label:<52}{_m(n):>10}")
    if r.params_by_side:
        sides = ", ".join(f"{side} {_m(n)}" for side, n in r.params_by_side.items())
        lines.append(f"  {'  of which (without embeddings/output projection)':<52}  {sides}")
    lines.append("")
    sides = [s for s in ("encoder", "decoder", "other") if r.macs_by_part.get(s)]
    header = f"  {'Mult-Adds (millions)':<44}" + "".join(f"{s:>10}" for s in sides) + f"{'total':>10}"
    lines.append(header)
    for key, label, included in PARTS:
        values = [r.macs_by_part.get(s, {}).get(key, 0) for s in sides]
        if not included or not any(values):
            continue
        lines.append(f"  {label:<44}" + "".join(_cell(v) for v in values) + _cell(sum(values)))
    totals = [sum(r.macs_by_part.get(s, {}).get(k, 0) for k, _, inc in PARTS if inc) for s in sides]
    lines.append(f"  {'total (paper convention)':<44}" + "".join(_cell(v) for v in totals) + _cell(r.macs))
    for key, label, included in PARTS:
        values = [r.macs_by_part.get(s, {}).get(key, 0) for s in sides]
        if included or not any(values):
            continue
        lines.append(f"  {label:<44}" + "".join(_cell(v) for v in values) + _cell(sum(values)))
    lines.append("")
    lines.append(f"Mult-Adds: {_m(r.macs)}   #Params without embeddings: {_m(r.params_without_embeddings)}")
    return "\n".join(lines)


def format_json(r: ProfileResult) -> str:
    return json.dumps(r.to_dict(), indent=2, sort_keys=False)
