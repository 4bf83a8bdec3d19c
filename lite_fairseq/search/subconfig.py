"""One SubTransformer of the hardware-aware search (:class:`SubConfig`), checked field by field, with its JSON
round trip. The choices it is drawn from are :class:`lite_fairseq.search.space.SearchSpace`'s.

Per layer: how many of the layer's channels go to attention (``*_attn_dims``, 0 = all convolution, the embedding
dimension = all attention; the rest go to the convolution branch), the heads of both branches, the convolution
kernel size and the FFN hidden size; per decoder layer also the heads of the encoder-decoder attention and how many
of the last encoder layers it reads (``decoder_ende_layers``, HAT's arbitrary encoder-decoder attention). Fields of
an absent branch are 0 (no attention heads when ``attn_dim`` is 0; no convolution heads and kernel size when it is
the embedding dimension), so one architecture has one config.
"""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence, Tuple


class SearchSpaceError(ValueError):
    """A malformed search space or SubTransformer config; the message names the field and what to do."""


ENCODER_LAYER_FIELDS = ("encoder_ffn_dims", "encoder_attn_dims", "encoder_attn_heads", "encoder_conv_heads",
                        "encoder_kernel_sizes")
DECODER_LAYER_FIELDS = ("decoder_ffn_dims", "decoder_attn_dims", "decoder_attn_heads", "decoder_conv_heads",
                        "decoder_kernel_sizes", "decoder_ende_heads", "decoder_ende_layers")


def fields_as_dict(obj) -> Dict:
    """A dataclass's fields as plain JSON values (tuples become lists)."""
    return {f.name: (list(v) if isinstance(v, tuple) else v)
            for f, v in ((f, getattr(obj, f.name)) for f in dataclasses.fields(obj))}


def checked_fields(cls, d, what: str, mapping: str) -> list:
    """The field names of dataclass ``cls`` after checking that ``d`` is a mapping with no unknown field; the
    messages name ``what`` is being read and the ``mapping`` expected."""
    if not isinstance(d, dict):
        raise SearchSpaceError(f"{mapping}, got {type(d).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in d if k not in names]
    if unknown:
        raise SearchSpaceError(f"{what}: unknown field(s) {', '.join(map(str, unknown))}; the fields are "
                               f"{', '.join(names)}")
    return names


@dataclass(frozen=True)
class SubConfig:
    """One SubTransformer. Per-layer fields are tuples with one entry per layer of their side."""

    encoder_embed_dim: int
    decoder_embed_dim: int
    encoder_layers: int
    decoder_layers: int
    encoder_ffn_dims: Tuple[int, ...]
    decoder_ffn_dims: Tuple[int, ...]
    encoder_attn_dims: Tuple[int, ...]
    decoder_attn_dims: Tuple[int, ...]
    encoder_attn_heads: Tuple[int, ...]
    decoder_attn_heads: Tuple[int, ...]
    encoder_conv_heads: Tuple[int, ...]
    decoder_conv_heads: Tuple[int, ...]
    encoder_kernel_sizes: Tuple[int, ...]
    decoder_kernel_sizes: Tuple[int, ...]
    decoder_ende_heads: Tuple[int, ...]
    decoder_ende_layers: Tuple[int, ...]

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ENCODER_LAYER_FIELDS + DECODER_LAYER_FIELDS:
                if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                    raise SearchSpaceError(f"SubConfig.{f.name}: expected a list of integers, one per layer, "
                                           f"got {value!r}")
                value = tuple(value)
                object.__setattr__(self, f.name, value)
                items = value
            else:
                items = (value,)
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
                raise SearchSpaceError(f"SubConfig.{f.name}: expected integers, got {value!r}")
        for side, names in (("encoder", ENCODER_LAYER_FIELDS), ("decoder", DECODER_LAYER_FIELDS)):
            layers = getattr(self, f"{side}_layers")
            if layers < 1:
                raise SearchSpaceError(f"SubConfig.{side}_layers: need at least one layer, got {layers}")
            for name in names:
                if len(getattr(self, name)) != layers:
                    raise SearchSpaceError(f"SubConfig.{name}: {len(getattr(self, name))} entries for "
                                           f"{side}_layers={layers}; give one per layer")
        self.check()

    def check(self) -> None:
        """Widths and heads that fit together (whatever the space): raise naming the first field that does not."""
        for side in ("encoder", "decoder"):
            d = getattr(self, f"{side}_embed_dim")
            if d < 1:
                raise SearchSpaceError(f"SubConfig.{side}_embed_dim must be positive, got {d}")
            for i in range(getattr(self, f"{side}_layers")):
                ffn = getattr(self, f"{side}_ffn_dims")[i]
                a = getattr(self, f"{side}_attn_dims")[i]
                ah = getattr(self, f"{side}_attn_heads")[i]
                ch = getattr(self, f"{side}_conv_heads")[i]
                k = getattr(self, f"{side}_kernel_sizes")[i]
                where = f"layer {i}"
                if ffn < 1:
                    raise SearchSpaceError(f"SubConfig.{side}_ffn_dims: {where} has {ffn}; must be positive")
                if not 0 <= a <= d:
                    raise SearchSpaceError(f"SubConfig.{side}_attn_dims: {where} has {a}, outside 0..{d} "
                                           f"({side}_embed_dim)")
                if (a == 0) != (ah == 0) or (a and a % ah):
                    raise SearchSpaceError(f"SubConfig.{side}_attn_heads: {where} has {ah} heads for {a} attention "
                                           "channels; heads must divide them (0 heads exactly when 0 channels)")
                c = d - a
                if (c == 0) != (ch == 0) or (c and c % ch):
                    raise SearchSpaceError(f"SubConfig.{side}_conv_heads: {where} has {ch} heads for {c} "
                                           "convolution channels; heads must divide them (0 exactly when 0)")
                if (c == 0) != (k == 0) or k < 0:
                    raise SearchSpaceError(f"SubConfig.{side}_kernel_sizes: {where} has {k}; give a positive size "
                                           "when the layer has a convolution branch, 0 when it has none")
        for i in range(self.decoder_layers):
            h, n = self.decoder_ende_heads[i], self.decoder_ende_layers[i]
            if h < 1 or self.decoder_embed_dim % h:
                raise SearchSpaceError(f"SubConfig.decoder_ende_heads: layer {i} has {h} heads, which do not divide "
                                       f"decoder_embed_dim {self.decoder_embed_dim}")
            if not 1 <= n <= self.encoder_layers:
                raise SearchSpaceError(f"SubConfig.decoder_ende_layers: layer {i} reads {n} encoder layers; give "
                                       f"1..encoder_layers ({self.encoder_layers})")

    def to_dict(self) -> Dict:
        return fields_as_dict(self)

    @classmethod
    def from_dict(cls, d) -> "SubConfig":
        names = checked_fields(cls, d, "SubConfig", "a SubTransformer config must be a JSON object of fields")
        missing = [n for n in names if n not in d]
        if missing:
            raise SearchSpaceError(f"SubConfig: missing field(s) {', '.join(missing)}; a config lists every field "
                                   "(write one with SubConfig.to_json)")
        return cls(**{n: d[n] for n in names})

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "SubConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SearchSpaceError(f"SubTransformer config is not valid JSON: {err}") from None
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path) -> "SubConfig":
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise SearchSpaceError(f"cannot read the SubTransformer config {path}: {err.strerror}") from None
        try:
            return cls.from_json(text)
        except SearchSpaceError as err:
            raise SearchSpaceError(f"{path}: {err}") from None
