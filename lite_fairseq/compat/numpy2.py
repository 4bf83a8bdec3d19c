"""Keep fairseq 0.12's sentence-per-block datasets working under NumPy 2.

fairseq 0.12 builds the block index of ``--sample-break-mode eos`` (which ``fairseq-interactive --task
language_modeling`` always uses for prompts) and LanguagePairDataset's ``num_tokens_vec`` with ``np.compat.long``.
NumPy 2 removed the ``np.compat`` namespace, so those paths die with ``AttributeError: module 'numpy' has no
attribute 'compat'``. ``np.compat.long`` was Python's ``int`` under NumPy 1.x; :func:`install` gives NumPy a
``compat`` namespace holding exactly that, and only when NumPy has none, so NumPy 1.x is left untouched.
"""

import types

import numpy as np


def install() -> None:
    if not hasattr(np, "compat"):
        np.compat = types.SimpleNamespace(long=int)

