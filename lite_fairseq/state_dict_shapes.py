"""Which tensors of one state dict do not fit another: the shared check of pruning masks against a checkpoint
(:mod:`lite_fairseq.compression`) and of converted parameters against the model they are loaded into
(:mod:`lite_fairseq.convert`). Depends on nothing but the tensors' ``shape``."""

from typing import Iterator, Mapping, Optional, Tuple

Shape = Tuple[int, ...]


def shape_mismatches(given: Mapping, reference: Mapping) -> Iterator[Tuple[str, Shape, Optional[Shape]]]:
    """``(name, shape in given, shape in reference)`` for each tensor of ``given`` that ``reference`` holds with
    another shape, and ``(name, shape, None)`` for each that ``reference`` does not hold at all; in the order of
    ``given``."""
    for name, tensor in given.items():
        wanted = tuple(reference[name].shape) if name in reference else None
        if wanted != tuple(tensor.shape):
            yield name, tuple(tensor.shape), wanted
