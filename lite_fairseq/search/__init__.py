"""Hardware-aware search over Lite Transformer designs (HAT over LSRA): the design space (:mod:`.space`), the
weight-shared SuperTransformer (:mod:`.supertransformer`) and the extraction of a SubTransformer as a plain
``lite_transformer`` checkpoint (:mod:`.extract`). Sits above :mod:`lite_fairseq.models`."""

from . import supertransformer  # noqa: E402,F401  (registers --arch lite_supertransformer)
