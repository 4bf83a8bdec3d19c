"""A plain description of a trained encoder-decoder: shapes, options and weight tensors, no fairseq objects.

:mod:`lite_fairseq.deploy.adapter` fills it from a fairseq model; :mod:`lite_fairseq.deploy.graphs` builds the
export-friendly encoder and decoder-step programs from it. Keeping the two apart means the graphs never see how
fairseq (or this plugin) lays out its modules.
"""

from dataclasses import dataclass, field
from typing import List, Optional, Union

from torch import Tensor

ACTIVATIONS = ("relu", "gelu", "gelu_accurate", "gelu_fast", "tanh", "linear", "swish")


class UnsupportedModelError(ValueError):
    """The exporter cannot handle this model or option; the message names it and says what would work."""


@dataclass
class Linear:
    weight: Tensor  # out x in
    bias: Optional[Tensor] = None


@dataclass
class Norm:
    weight: Tensor
    bias: Tensor
    eps: float = 1e-5


@dataclass
class AttentionBranch:
    """fairseq MultiheadAttention over ``dim`` channels (queries scaled by head_dim ** -0.5 after the bias)."""
    dim: int
    heads: int
    q: Linear
    k: Linear
    v: Linear
    out: Linear

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


@dataclass
class ConvBranch:
    """Linear (+GLU) -> lightweight or dynamic depthwise convolution over ``dim`` channels -> Linear."""
    kind: str  # "lightweight" or "dynamic"
    dim: int
    heads: int
    kernel_size: int
    padding_l: int  # K-1 for the causal decoder, (K-1)//2 in the encoder
    glu: bool
    weight_softmax: bool
    linear1: Linear
    linear2: Linear
    taps: Optional[Tensor] = None  # lightweight: heads x K (raw, softmax applied if weight_softmax)
    predictor: Optional[Linear] = None  # dynamic: dim -> heads*K kernel logits


Branch = Union[AttentionBranch, ConvBranch]


@dataclass
class Layer:
    """One encoder or decoder layer: token mixing (branches splitting the channels), optional encoder-decoder
    attention, feed-forward; each with a residual and a layer norm before (pre-norm) or after (post-norm)."""
    branches: List[Branch]
    mix_norm: Norm
    fc1: Linear
    fc2: Linear
    ffn_norm: Norm
    activation: str
    normalize_before: bool
    cross: Optional[AttentionBranch] = None
    cross_norm: Optional[Norm] = None


@dataclass
class Side:
    embed: Tensor  # vocab x dim
    embed_scale: float
    padding_idx: int
    max_positions: int
    positions: Optional[Tensor]  # max_positions x dim, row i = the embedding of the i-th token (0-based)
    layers: List[Layer]
    embed_norm: Optional[Norm] = None
    final_norm: Optional[Norm] = None

    @property
    def dim(self) -> int:
        return self.embed.size(1)


@dataclass
class ModelSpec:
    arch: str
    encoder: Side
    decoder: Side
    output: Tensor  # target vocab x dim (the output projection)
    options: dict = field(default_factory=dict)  # the model options worth recording in the manifest
