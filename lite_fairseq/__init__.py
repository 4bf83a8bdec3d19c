"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin.

Importing the package (``--user-dir`` does) registers the models and architectures with fairseq, allow-lists
the types fairseq checkpoints hold for torch's ``weights_only`` loading (:mod:`lite_fairseq.checkpoint_safety`),
registers what happens after a checkpoint is read (compressed checkpoints are decompressed; the ``cpu_int8`` model
override is checked, :mod:`lite_fairseq.compression.loading`) and fixes two fairseq 0.12.3 problems
(:mod:`lite_fairseq.compat`).

Layers, every import pointing down: ``compression``, ``profiler``, ``analysis``, ``convert``, ``search`` ->
``models`` -> ``modules`` -> ``kernels``, and ``checkpoint_safety`` (torch and fairseq only) below all of them.
"""

from .version import __version__  # noqa: F401  (defined once, in version.py)

from . import checkpoint_safety, compat  # noqa: E402

checkpoint_safety.install()
compat.install()

from . import models  # noqa: E402,F401  (registers models and architectures)
from . import compression  # noqa: E402  (registers --task translation_masked)
from . import search  # noqa: E402,F401  (registers --arch lite_supertransformer)

# order matters: the cpu_int8 check reads the model options of the decompressed checkpoint
checkpoint_safety.register_post_load(compression.decompress_if_compressed)
checkpoint_safety.register_post_load(compression.check_cpu_int8_override)
