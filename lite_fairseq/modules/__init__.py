"""Layers of Lite Transformer: LSRA and its branches.

Read top-down: :mod:`.config` (what a layer is made of) -> :mod:`.layers` (encoder/decoder layers, residual, FFN)
-> :mod:`.lsra` (LSRA and its convolution branch) -> :mod:`.convolution` (lightweight/dynamic convolutions) ->
:mod:`lite_fairseq.kernels`. Parsing the command line into a :class:`LayerConfig` is the models' job
(:mod:`lite_fairseq.models.lite_transformer_options`).
"""

from .attention_path import module_path, use_module_path
from .config import ATTENTION, BRANCH_TYPES, CONV_TYPES, BranchSpec, LayerConfig, check_branch_widths
from .convolution import DepthwiseConvTBC, DynamicConvTBC, LightweightConvTBC
from .dropout import Dropout
from .layers import FeedForward, LiteDecoderLayer, LiteEncoderLayer, ResidualNorm
from .lsra import ConvBranch, LongShortRangeAttention, conv_padding

__all__ = [
    "ATTENTION", "BRANCH_TYPES", "CONV_TYPES", "BranchSpec", "ConvBranch", "DepthwiseConvTBC", "Dropout",
    "DynamicConvTBC", "FeedForward", "LayerConfig", "LightweightConvTBC", "LiteDecoderLayer", "LiteEncoderLayer",
    "LongShortRangeAttention", "ResidualNorm", "check_branch_widths", "conv_padding", "module_path",
    "use_module_path",
]
