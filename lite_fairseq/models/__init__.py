"""Registered fairseq models and architectures of lite_fairseq."""

from .lite_transformer import LiteTransformerModel  # registers the model before its architectures
from . import lite_transformer_architectures, transformer_paper_baselines  # noqa: F401,E402  (registration)
from .lite_transformer_architectures import PRESETS  # noqa: E402
from .transformer_paper_baselines import BASELINES  # noqa: E402

__all__ = ["LiteTransformerModel", "PRESETS", "BASELINES"]
