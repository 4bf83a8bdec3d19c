"""What one Lite Transformer layer is made of: its branches (:class:`BranchSpec`) and settings (:class:`LayerConfig`).

The model's option code (:mod:`lite_fairseq.models.lite_transformer_options`) turns the command line into one
``LayerConfig`` per layer, checking every option by name before any weight is built; the layers here only receive
the result. Read next: :mod:`.layers` (the encoder and decoder layers built from a ``LayerConfig``).
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

ATTENTION = "attn"
CONV_TYPES = ("lightweight", "dynamic")
BRANCH_TYPES = (ATTENTION,) + CONV_TYPES


@dataclass(frozen=True)
class BranchSpec:
    """One LSRA branch over ``dim`` of the layer's channels. Written ``type:kernel:dim:heads`` on the command line
    (the authors' format): ``attn:1:248:4``, ``dynamic:default:248:4``, ``lightweight:7:80:4``."""

    kind: str  # one of BRANCH_TYPES
    dim: int
    heads: int
    kernel_size: Optional[int] = None  # None: the layer's kernel size (``default`` on the command line)

    @property
    def is_attention(self) -> bool:
        return self.kind == ATTENTION

    def __str__(self) -> str:
        if self.is_attention:
            kernel = "1"
        else:
            kernel = "default" if self.kernel_size is None else str(self.kernel_size)
        return f"{self.kind}:{kernel}:{self.dim}:{self.heads}"


def check_branch_widths(specs: Sequence[BranchSpec], embed_dim: int) -> None:
    """Raise a ValueError unless the branch widths add up to the embedding dimension."""
    total = sum(s.dim for s in specs)
    if not specs or total != embed_dim:
        widths = " + ".join(str(s.dim) for s in specs) or "(no branches)"
        raise ValueError(f"branch widths {widths} = {total} do not add up to the embedding dimension {embed_dim}")


@dataclass(frozen=True)
class LayerConfig:
    """Settings of one encoder or decoder layer (LSRA + flattened FFN, each with residual and layer norm)."""

    embed_dim: int
    ffn_dim: int
    branch_specs: Tuple[BranchSpec, ...]
    kernel_size: int  # of the convolution branches whose spec says ``default``
    causal: bool = False  # decoder layers: causal convolutions, step-by-step decoding
    glu: bool = False  # GLU after the convolution branch's input projection
    normalize_before: bool = False  # pre-norm instead of post-norm
    dropout: float = 0.0  # on each sublayer's output, before the residual sum
    attention_dropout: float = 0.0  # on the attention weights
    activation_dropout: float = 0.0  # after the FFN's activation
    weight_dropout: float = 0.0  # DropConnect on the normalised convolution kernels
    weight_softmax: bool = True  # softmax over the kernel taps
    activation_fn: str = "relu"
    conv_backend: str = "auto"  # see lite_fairseq.kernels.BACKENDS
    conv_mask_before_linear: bool = False  # zero padding before the branch's input projection (authors' checkpoints)

    def __post_init__(self):
        object.__setattr__(self, "branch_specs", tuple(self.branch_specs))
        check_branch_widths(self.branch_specs, self.embed_dim)
        if self.kernel_size < 1:
            raise ValueError(f"kernel size must be at least 1, got {self.kernel_size}")
        for spec in self.branch_specs:
            if spec.kind not in BRANCH_TYPES:
                raise ValueError(f"unknown branch type {spec.kind!r}; choose one of {', '.join(BRANCH_TYPES)}")
