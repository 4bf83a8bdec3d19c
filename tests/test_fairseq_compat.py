"""The fairseq 0.12.3 fixes the plugin applies on import."""

import numpy as np
import pytest
from fairseq.data import data_utils

import lite_fairseq  # noqa: F401  (installs the fixes)


@pytest.mark.parametrize("n,max_sentences,max_tokens,mult", [
    (100, 40, None, 8), (100, None, 1000, 8), (5, 40, None, 8), (37, 8, None, 8), (64, 16, None, 8), (9, 3, None, 1),
])
def test_every_sentence_gets_a_batch(n, max_sentences, max_tokens, mult):
    """fairseq's main branch drops the last batch when it is not a multiple of --required-batch-size-multiple,
    so fairseq-generate silently translated 96 of 100 test sentences."""
    order = np.random.RandomState(0).permutation(n)
    batches = data_utils.batch_by_size(order, lambda i: 10, max_tokens=max_tokens, max_sentences=max_sentences,
                                       required_batch_size_multiple=mult)
    flat = np.concatenate(batches) if len(batches) else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(n))
    assert flat.tolist() == order.tolist()  # the order fairseq asked for is kept
    for b in batches:
        assert max_sentences is None or len(b) <= max_sentences
        assert max_tokens is None or len(b) * 10 <= max_tokens
    # every batch but the last still respects the required multiple
    assert all(len(b) % mult == 0 for b in batches[:-1])


def test_generator_indices_are_accepted():
    batches = data_utils.batch_by_size(iter(range(10)), lambda i: 1, max_sentences=4, required_batch_size_multiple=4)
    assert [len(b) for b in batches] == [4, 4, 2]


def test_numpy_compat_long_exists_for_fairseq():
    """fairseq's LanguagePairDataset and TokenBlockDataset use np.compat.long as an integer dtype."""
    sizes = np.vectorize(len, otypes=[np.compat.long])(np.array(["ab", "c", ""], dtype=object))
    assert sizes.dtype.kind == "i" and sizes.tolist() == [2, 1, 0]
    assert np.full(2, -1, dtype=np.compat.long).dtype == np.dtype(int)
