"""Compression for deployment: magnitude pruning, 8-bit quantisation, a compact checkpoint format that
fairseq-generate reads directly, pruned fine-tuning (``--task translation_masked``) and dynamic int8 CPU inference.

Command line: ``lite-fairseq-compress`` (:mod:`.cli`). Importing this package registers the
``translation_masked`` task; the package's ``__init__`` registers the post-load steps of :mod:`.loading` with the
checkpoint loader. :func:`quantize_dynamic_for_cpu` is defined in :mod:`lite_fairseq.modules.int8` (the models
call it for the ``cpu_int8`` override) and exported here under its public name.
"""

from lite_fairseq.modules.int8 import quantize_dynamic_for_cpu

from . import masked_task  # noqa: F401  (registers --task translation_masked)
from .loading import check_cpu_int8_override, decompress_if_compressed
from .pruning import apply_masks, load_masks, magnitude_prune, save_masks
from .storage import CompressedCheckpointError, decompress_state, is_compressed

__all__ = ["quantize_dynamic_for_cpu", "check_cpu_int8_override", "decompress_if_compressed", "apply_masks",
           "load_masks", "magnitude_prune", "save_masks", "CompressedCheckpointError", "decompress_state",
           "is_compressed"]
