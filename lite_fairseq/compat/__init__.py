"""Fixes for the fairseq 0.12.3 builds that install on Python 3.11 and NumPy 2, applied when the plugin loads.

Each one checks the behaviour it fixes and leaves a fairseq without the problem untouched.
"""

from . import batch_tail, numpy2


def install() -> None:
    numpy2.install()
    batch_tail.install()
