"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin.

Importing the package (``--user-dir`` does) registers the models and architectures with fairseq.
"""

__version__ = "0.1.0"

from . import models  # noqa: E402,F401  (registers models and architectures)
