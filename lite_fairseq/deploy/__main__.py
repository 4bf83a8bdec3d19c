"""``python -m lite_fairseq.deploy DIR --beam N``: decode with an export directory (see :mod:`.runtime`)."""

import sys

from .runtime import main

if __name__ == "__main__":
    sys.exit(main())
