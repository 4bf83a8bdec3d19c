"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin.

Importing the package (``--user-dir`` does) registers the models and architectures with fairseq, allow-lists
the types fairseq checkpoints hold for torch's ``weights_only`` loading (:mod:`lite_fairseq.checkpoint_safety`) and
fixes two fairseq 0.12.3 problems (:mod:`lite_fairseq.compat`).
"""

from .version import __version__  # noqa: F401  (defined once, in version.py)

from . import checkpoint_safety, compat  # noqa: E402

checkpoint_safety.install()
compat.install()

from . import models  # noqa: E402,F401  (registers models and architectures)
from . import compression  # noqa: E402,F401  (registers --task translation_masked)
