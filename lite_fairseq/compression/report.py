"""The size report, in the paper's terms (Table: 176 MB -> Lite 69.2 MB -> 8-bit 17.3 MB -> + pruning 9.7 MB).

Every figure is counted from the tensors that were written (:func:`~.storage.storage_stats`) and from file sizes:

- fp32: parameters x 4 bytes (the paper's MB), without embeddings (token/position embeddings and the output
  projection, as in the paper) and with them. Tied tensors count once.
- after 8-bit quantisation: quantised weights at 1 byte each plus their per-row float32 scales; tensors left in
  float32 (biases, layer norms) at 4 bytes.
- after pruning: only the stored nonzeros (1 byte each when quantised) plus scales: the paper's convention, which
  leaves out the cost of recording where the nonzeros are.
- on disk: the compressed file's bytes (nonzeros, bitmaps, scales, options, tensor records) against the same
  checkpoint written densely in float32 without optimizer state, and against the input file.
"""

import math
from typing import Optional

from .pruning import is_embedding
from .storage import storage_stats

MB = 1e6


def size_summary(packed: dict, compressed_bytes: int, fp32_bytes: int, input_bytes: Optional[int] = None) -> dict:
    stats = storage_stats(packed)
    scales = {r["name"]: r["scales"][1] for r in packed["tensors"] if r["enc"].startswith("int8")}
    totals = {key: {"fp32": 0, "q8": 0, "pruned": 0, "params": 0, "nonzero": 0, "prunable": 0, "prunable_nz": 0}
              for key in ("non_embedding", "all")}
    for name, t in stats["tensors"].items():
        quantised = t["enc"].startswith("int8")
        value_bytes = t["bits"] // 8
        extra = 4 * scales.get(name, 0)
        groups = ("all",) if is_embedding(name) else ("all", "non_embedding")
        for g in groups:
            totals[g]["params"] += t["numel"]
            totals[g]["nonzero"] += t["nonzero"]
            totals[g]["fp32"] += 4 * t["numel"]
            totals[g]["q8"] += (t["numel"] * value_bytes + extra) if quantised else 4 * t["numel"]
            totals[g]["pruned"] += t["nonzero"] * value_bytes + extra
            if quantised:
                totals[g]["prunable"] += t["numel"]
                totals[g]["prunable_nz"] += t["nonzero"]
    bits = sorted({t["bits"] for name, t in stats["tensors"].items() if t["enc"].startswith("int8")})
    return {"totals": totals, "compressed_bytes": compressed_bytes, "fp32_checkpoint_bytes": fp32_bytes,
            "input_bytes": input_bytes, "blob_bytes": stats["blob_bytes"], "code_bits": bits,
            "disk_ratio": fp32_bytes / compressed_bytes if compressed_bytes else math.nan}


def _ratio(a, b):
    return f"{a / b:5.2f}x" if b else "   - "


def format_report(summary: dict, title: str = "") -> str:
    ne, al = summary["totals"]["non_embedding"], summary["totals"]["all"]
    lines = []
    if title:
        lines.append(title)

    def sparsity(t):
        return 1 - t["prunable_nz"] / t["prunable"] if t["prunable"] else 0.0

    lines.append(f"parameters: {ne['params']:,} without embeddings, {al['params']:,} with; "
                 f"stored codes: {summary['code_bits'] or 'none'} bit; sparsity of the quantised weights: "
                 f"{sparsity(ne):.1%} without embeddings, {sparsity(al):.1%} with")
    header = f"{'step':<44}{'MB (no emb.)':>13}{'ratio':>8}{'total':>8}{'MB (all)':>11}{'ratio':>8}{'total':>8}"
    lines += [header, "-" * len(header)]
    rows = [("fp32 (params x 4 B)", "fp32"), ("+ 8-bit quantisation (+ per-row scales)", "q8"),
            ("+ pruning (nonzeros only, paper convention)", "pruned")]
    prev = None
    for label, key in rows:
        step_ne = _ratio(ne[prev], ne[key]) if prev else "   - "
        step_al = _ratio(al[prev], al[key]) if prev else "   - "
        lines.append(f"{label:<44}{ne[key] / MB:>13.3f}{step_ne:>8}{_ratio(ne['fp32'], ne[key]):>8}"
                     f"{al[key] / MB:>11.3f}{step_al:>8}{_ratio(al['fp32'], al[key]):>8}")
        prev = key
    lines.append("")
    fp32_file, comp = summary["fp32_checkpoint_bytes"], summary["compressed_bytes"]
    lines.append(f"on disk: fp32 checkpoint without optimizer state {fp32_file:>12,} B")
    if summary.get("input_bytes"):
        lines.append(f"         input checkpoint file                   {summary['input_bytes']:>12,} B")
    lines.append(f"         compressed checkpoint                   {comp:>12,} B   "
                 f"{_ratio(fp32_file, comp).strip()} smaller than the fp32 checkpoint"
                 + (f", {_ratio(summary['input_bytes'], comp).strip()} than the input file"
                    if summary.get("input_bytes") else ""))
    blobs = summary["blob_bytes"]
    lines.append("         of which: " + ", ".join(f"{name} {b:,} B" for name, b in blobs.items())
                 + f", options and tensor records {comp - sum(blobs.values()):,} B")
    return "\n".join(lines)
