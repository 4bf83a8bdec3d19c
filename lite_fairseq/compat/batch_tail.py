"""Keep the last batch that fairseq 0.12.3 silently drops.

fairseq's main branch (and the rebuilds of it that install on Python 3.11) ends ``data_utils.batch_by_size`` with
``if bsz_mult > 1 and len(b[-1]) % bsz_mult != 0: b = b[:-1]``: with the default ``--required-batch-size-multiple
8`` up to 7 sentences of every split vanish, so ``fairseq-generate`` translates fewer sentences than the test set
holds and scores BLEU on that subset without a word (100 test sentences come out as 96). Batches are consecutive
runs of the ordered indices, so the dropped ones are exactly the tail: :func:`install` wraps ``batch_by_size`` to
append them as one last batch (it was built within ``--max-tokens``/``--batch-size``, it only was not a multiple of
the required size), as fairseq 0.12.2 did. A fairseq that does not drop anything is left as it is.
"""

import functools

import numpy as np


def _keeping_tail(batch_by_size):
    if getattr(batch_by_size, "_lite_fairseq_keeps_tail", False):
        return batch_by_size

    @functools.wraps(batch_by_size)
    def wrapper(indices, *args, **kwargs):
        if not isinstance(indices, np.ndarray):
            indices = np.fromiter(indices, dtype=np.int64, count=-1)
        batches = batch_by_size(indices, *args, **kwargs)
        if kwargs.get("fixed_shapes") is not None or (len(args) >= 6 and args[5] is not None):
            return batches  # fixed shapes drop by design
        covered = sum(len(b) for b in batches)
        if covered < len(indices):
            batches = list(batches) + [indices[covered:].copy()]
        return batches

    wrapper._lite_fairseq_keeps_tail = True
    return wrapper


def install() -> None:
    from fairseq.data import data_utils

    data_utils.batch_by_size = _keeping_tail(data_utils.batch_by_size)
