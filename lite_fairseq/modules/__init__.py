"""Layers of Lite Transformer: LSRA and its branches."""

from .branch_spec import (BranchSpec, BranchSpecError, default_branch_specs, parse_branch_spec,
                          parse_branch_specs, parse_kernel_size_list)
from .conv_branch import ConvBranch, conv_padding
from .dynamic_convolution import DynamicConvTBC
from .lightweight_convolution import LightweightConvTBC
from .lite_decoder_layer import LiteDecoderLayer
from .lite_encoder_layer import LiteEncoderLayer
from .long_short_range_attention import LongShortRangeAttention

__all__ = [
    "BranchSpec", "BranchSpecError", "ConvBranch", "DynamicConvTBC", "LightweightConvTBC", "LiteDecoderLayer",
    "LiteEncoderLayer", "LongShortRangeAttention", "conv_padding", "default_branch_specs", "parse_branch_spec",
    "parse_branch_specs", "parse_kernel_size_list",
]
