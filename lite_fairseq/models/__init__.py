"""Registered fairseq models and architectures of lite_fairseq."""

from .lite_transformer import LiteTransformerModel  # registers the model before its architectures
from .lite_transformer_lm import LiteTransformerLanguageModel  # noqa: E402  (the language model, likewise)
from . import lite_transformer_architectures, transformer_paper_baselines  # noqa: F401,E402  (registration)
from . import lite_transformer_lm_architectures, transformer_lm_paper_baselines  # noqa: F401,E402  (registration)
from .lite_transformer_architectures import PRESETS  # noqa: E402
from .lite_transformer_lm_architectures import LM_PRESETS  # noqa: E402
from .transformer_lm_paper_baselines import LM_BASELINES  # noqa: E402
from .transformer_paper_baselines import BASELINES  # noqa: E402

__all__ = ["LiteTransformerModel", "LiteTransformerLanguageModel", "PRESETS", "BASELINES", "LM_PRESETS",
           "LM_BASELINES"]
