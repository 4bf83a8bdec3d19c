"""What the latency predictor sees of a design: per side, the terms a Transformer's time is made of.

HAT feeds its MLP the architecture encoding (one number per gene). On a few hundred measurements of this space that
over-fits: the encoding of the default space has 45 numbers, most of them per-layer genes of layers a design may
not have, and latency is a sum over the layers it has. :func:`latency_features` gives instead, per side, the number
of layers, of attention and of convolution branches, and the products a layer's work grows with (embedding x FFN
size, embedding x attention width, embedding x convolution width, kernel x convolution width), summed over the
layers; for the decoder also the encoder layers its encoder-decoder attention reads and the embedding dimension
(the output projection). Each is divided by the largest design's value, so the numbers lie in [0, 1].

Measured on 152 designs of the default space (CPU, one thread, process CPU time, 30 of them held out, three
seeds), the MLP's mean relative error on the held-out designs was 12-15% over these features and 22-40% over the
encoding; on that shared, loaded machine two measurements of the same designs differed by 23% on average, so both
figures are mostly the measurements' own noise.
"""

import functools
from typing import List, Tuple

from .space import SearchSpace, SubConfig

FEATURES = "lite_fairseq.search.features/1"
"""Name of this feature set, kept in a predictor file: a predictor is only used with the features it was fitted
on."""


def _raw(cfg: SubConfig) -> List[float]:
    values: List[float] = []
    for side in ("encoder", "decoder"):
        d = getattr(cfg, f"{side}_embed_dim")
        attn = getattr(cfg, f"{side}_attn_dims")
        ffn = getattr(cfg, f"{side}_ffn_dims")
        kernels = getattr(cfg, f"{side}_kernel_sizes")
        values += [getattr(cfg, f"{side}_layers"), sum(a > 0 for a in attn), sum(a < d for a in attn),
                   sum(d * f for f in ffn), sum(d * a for a in attn), sum(d * (d - a) for a in attn),
                   sum(k * (d - a) for k, a in zip(kernels, attn)), d]
    values += [sum(cfg.decoder_ende_layers), cfg.decoder_embed_dim * cfg.decoder_layers]
    return [float(v) for v in values]


@functools.lru_cache(maxsize=8)
def _scale(space: SearchSpace) -> Tuple[float, ...]:
    """The largest value of each feature over the space: each term's largest choices (all attention or all
    convolution, whichever maximises it)."""
    largest = space.largest()
    scale = _raw(largest)
    for side in ("encoder", "decoder"):
        d = getattr(largest, f"{side}_embed_dim")
        n = getattr(largest, f"{side}_layers")
        kmax = max(getattr(space, f"{side}_kernel_sizes"))
        offset = 0 if side == "encoder" else 8
        scale[offset + 1] = scale[offset + 2] = n
        scale[offset + 4] = scale[offset + 5] = n * d * d
        scale[offset + 6] = n * kmax * d
    return tuple(s if s > 0 else 1.0 for s in scale)


def latency_features(space: SearchSpace, cfg: SubConfig) -> List[float]:
    """The predictor's input for ``cfg`` (18 numbers in [0, 1])."""
    return [v / s for v, s in zip(_raw(cfg), _scale(space))]
