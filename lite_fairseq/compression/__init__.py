"""Compression for deployment: magnitude pruning, 8-bit quantisation, a compact checkpoint format that
fairseq-generate reads directly, pruned fine-tuning (``--task translation_masked``) and dynamic int8 CPU inference.

Command line: ``lite-fairseq-compress`` (:mod:`.cli`). Importing this package registers the
``translation_masked`` task.
"""

from . import masked_task  # noqa: F401  (registers --task translation_masked)
from .pruning import apply_masks, load_masks, magnitude_prune, save_masks  # noqa: F401
from .quantization import quantize_dynamic_for_cpu  # noqa: F401
from .storage import CompressedCheckpointError, decompress_state, is_compressed  # noqa: F401
