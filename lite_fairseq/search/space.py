"""The design space of the hardware-aware search: one SubTransformer (:class:`SubConfig`) and the choices it is
drawn from (:class:`SearchSpace`), with HAT's sampling, mutation and crossover, the fixed-length architecture
encoding fed to the latency predictor, and the ``fairseq-train`` options that build a SubTransformer as a plain
``lite_transformer`` (:func:`lite_transformer_args`).

A SubTransformer sets, per layer, how many of the layer's channels go to attention (``*_attn_dims``, 0 = all
convolution, the embedding dimension = all attention; the rest go to the convolution branch), the heads of both
branches, the convolution kernel size and the FFN hidden size; per decoder layer also the heads of the
encoder-decoder attention and how many of the last encoder layers it reads (``decoder_ende_layers``, 1..3, HAT's
arbitrary encoder-decoder attention). Fields of an absent branch are 0 (no attention heads when ``attn_dim`` is 0;
no convolution heads and kernel size when it is the embedding dimension), so one architecture has one config.
"""

import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from lite_fairseq.modules import CONV_TYPES

from .subconfig import (DECODER_LAYER_FIELDS, ENCODER_LAYER_FIELDS, SearchSpaceError, SubConfig, checked_fields,
                        fields_as_dict)

__all__ = ["DECODER_LAYER_FIELDS", "ENCODER_LAYER_FIELDS", "SearchSpace", "SearchSpaceError", "SubConfig",
           "lite_transformer_args"]


def _ints(name: str, value, minimum: int = 1) -> Tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise SearchSpaceError(f"search space field {name!r}: expected a non-empty list of integers, got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value):
        raise SearchSpaceError(f"search space field {name!r}: expected integers >= {minimum}, got {value!r}")
    return tuple(sorted(set(value)))


@dataclass(frozen=True)
class SearchSpace:
    """The choices of every gene. ``attn_fractions``: share of a layer's channels given to attention (0 = all
    convolution, 1 = all attention); each fraction of each embedding dimension must be a whole number of channels
    divisible by every head choice, so that every sampled config is valid. ``conv_type``, ``glu`` and
    ``normalize_before`` are fixed for the whole space (they are the SuperTransformer's)."""

    encoder_embed_dims: Tuple[int, ...] = (128, 192, 256)
    decoder_embed_dims: Tuple[int, ...] = (128, 192, 256)
    encoder_layers: Tuple[int, ...] = (3, 4)
    decoder_layers: Tuple[int, ...] = (1, 2, 3)
    encoder_ffn_dims: Tuple[int, ...] = (128, 256, 512)
    decoder_ffn_dims: Tuple[int, ...] = (128, 256, 512)
    attn_fractions: Tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    attn_heads: Tuple[int, ...] = (2, 4)
    conv_heads: Tuple[int, ...] = (2, 4)
    ende_heads: Tuple[int, ...] = (2, 4)
    encoder_kernel_sizes: Tuple[int, ...] = (3, 7, 15, 31)
    decoder_kernel_sizes: Tuple[int, ...] = (3, 7, 15)
    ende_layers: Tuple[int, ...] = (1, 2, 3)
    conv_type: str = "dynamic"
    glu: bool = True
    normalize_before: bool = False
    share_decoder_input_output_embed: bool = True

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "attn_fractions":
                if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value or not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in value):
                    raise SearchSpaceError(f"search space field 'attn_fractions': expected a non-empty list of "
                                           f"numbers between 0 and 1, got {value!r}")
                object.__setattr__(self, f.name, tuple(sorted(set(float(v) for v in value))))
            elif f.name == "conv_type":
                if value not in CONV_TYPES:
                    raise SearchSpaceError(f"search space field 'conv_type': {value!r} is not one of "
                                           f"{', '.join(CONV_TYPES)}")
            elif f.type in (bool, "bool"):
                if not isinstance(value, bool):
                    raise SearchSpaceError(f"search space field {f.name!r}: expected true or false, got {value!r}")
            else:
                object.__setattr__(self, f.name, _ints(f.name, value))
        for side in ("encoder", "decoder"):
            for d in getattr(self, f"{side}_embed_dims"):
                for frac in self.attn_fractions:
                    a = frac * d
                    if a != int(a):
                        raise SearchSpaceError(f"search space field 'attn_fractions': {frac} of {side}_embed_dims "
                                               f"{d} is not a whole number of channels; choose fractions and "
                                               "dimensions that give whole channels")
                    for name, heads, width in (("attn_heads", self.attn_heads, int(a)),
                                               ("conv_heads", self.conv_heads, d - int(a))):
                        bad = [h for h in heads if width and width % h]
                        if bad:
                            raise SearchSpaceError(f"search space field {name!r}: {bad} heads do not divide the "
                                                   f"{width} channels that fraction {frac} of {side}_embed_dims {d} "
                                                   "gives; choose heads that divide every branch width")
        bad = [(h, d) for h in self.ende_heads for d in self.decoder_embed_dims if d % h]
        if bad:
            raise SearchSpaceError(f"search space field 'ende_heads': {bad[0][0]} heads do not divide "
                                   f"decoder_embed_dims {bad[0][1]}")
        if min(self.encoder_layers) < max(self.ende_layers) and min(self.ende_layers) > min(self.encoder_layers):
            raise SearchSpaceError("search space field 'ende_layers': no choice fits the smallest encoder "
                                   f"({min(self.encoder_layers)} layers); include 1")
        if max(self.ende_layers) > max(self.encoder_layers):
            raise SearchSpaceError(f"search space field 'ende_layers': {max(self.ende_layers)} is more than the "
                                   f"largest encoder_layers {max(self.encoder_layers)}")

    # ---- files ----
    @classmethod
    def default(cls) -> "SearchSpace":
        """Sized for CPU work on the 36k-pair DDTP corpus: embeddings up to 256, 3-4 encoder and 1-3 decoder
        layers."""
        return cls()

    def to_dict(self) -> Dict:
        return fields_as_dict(self)

    @classmethod
    def from_dict(cls, d) -> "SearchSpace":
        """Fields left out take the default space's values; an unknown field is refused with the known ones."""
        checked_fields(cls, d, "search space", "a search space must be a mapping of fields")
        return cls(**d)

    @classmethod
    def from_file(cls, path) -> "SearchSpace":
        """A JSON file (or YAML, by the suffix .yaml/.yml) of fields; see :meth:`to_dict` for the format."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise SearchSpaceError(f"cannot read the search space file {path}: {err.strerror}") from None
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as err:  # json.JSONDecodeError, yaml.YAMLError
            raise SearchSpaceError(f"search space file {path} cannot be parsed: {str(err).splitlines()[0]}; write "
                                   "it as JSON (or YAML), e.g. the output of SearchSpace.default().to_dict()") from None
        try:
            return cls.from_dict(data)
        except SearchSpaceError as err:
            raise SearchSpaceError(f"{path}: {err}") from None

    def to_file(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    # ---- genes ----
    def _layer_genes(self, side: str, d: int, frac: float, attn_h: int, conv_h: int, kernel: int):
        a = int(frac * d)
        return (a, attn_h if a else 0, conv_h if a < d else 0, kernel if a < d else 0)

    def _build(self, g: Dict) -> SubConfig:
        """SubConfig from genes: embed dims, layer counts, and per-layer lists at the space's largest depth."""
        fields = {"encoder_embed_dim": g["encoder_embed_dim"], "decoder_embed_dim": g["decoder_embed_dim"],
                  "encoder_layers": g["encoder_layers"], "decoder_layers": g["decoder_layers"]}
        for side in ("encoder", "decoder"):
            d, n = g[f"{side}_embed_dim"], g[f"{side}_layers"]
            rows = [self._layer_genes(side, d, g[f"{side}_frac"][i], g[f"{side}_attn_heads"][i],
                                      g[f"{side}_conv_heads"][i], g[f"{side}_kernel"][i]) for i in range(n)]
            fields[f"{side}_ffn_dims"] = tuple(g[f"{side}_ffn"][:n])
            for j, name in enumerate(("attn_dims", "attn_heads", "conv_heads", "kernel_sizes")):
                fields[f"{side}_{name}"] = tuple(r[j] for r in rows)
        n = g["decoder_layers"]
        fields["decoder_ende_heads"] = tuple(g["decoder_ende_heads"][:n])
        fields["decoder_ende_layers"] = tuple(min(e, g["encoder_layers"]) for e in g["decoder_ende_layers"][:n])
        return SubConfig(**fields)

    def _scalar_genes(self) -> Dict[str, Tuple]:
        return {"encoder_embed_dim": self.encoder_embed_dims, "decoder_embed_dim": self.decoder_embed_dims,
                "encoder_layers": self.encoder_layers, "decoder_layers": self.decoder_layers}

    def _layer_genes_choices(self) -> Dict[str, Tuple[int, Tuple]]:
        """Per-layer genes: name -> (the largest depth of its side, its choices)."""
        choices = {}
        for side in ("encoder", "decoder"):
            depth = max(getattr(self, f"{side}_layers"))
            for gene, options in (("ffn", getattr(self, f"{side}_ffn_dims")), ("frac", self.attn_fractions),
                                  ("attn_heads", self.attn_heads), ("conv_heads", self.conv_heads),
                                  ("kernel", getattr(self, f"{side}_kernel_sizes"))):
                choices[f"{side}_{gene}"] = (depth, options)
        depth = max(self.decoder_layers)
        choices["decoder_ende_heads"] = (depth, self.ende_heads)
        choices["decoder_ende_layers"] = (depth, self.ende_layers)
        return choices

    def _random_genes(self, rng: random.Random) -> Dict:
        genes = {name: rng.choice(options) for name, options in self._scalar_genes().items()}
        for name, (depth, options) in self._layer_genes_choices().items():
            genes[name] = [rng.choice(options) for _ in range(depth)]
        return genes

    def _genes_of(self, cfg: SubConfig, rng: random.Random) -> Dict:
        """Genes of ``cfg``; the layers it lacks (and the heads/kernels of absent branches) are drawn at random."""
        genes = self._random_genes(rng)
        for name in self._scalar_genes():
            genes[name] = getattr(cfg, name)
        for side in ("encoder", "decoder"):
            d = getattr(cfg, f"{side}_embed_dim")
            for i in range(getattr(cfg, f"{side}_layers")):
                genes[f"{side}_ffn"][i] = getattr(cfg, f"{side}_ffn_dims")[i]
                genes[f"{side}_frac"][i] = getattr(cfg, f"{side}_attn_dims")[i] / d
                for gene, name in (("attn_heads", "attn_heads"), ("conv_heads", "conv_heads"),
                                   ("kernel", "kernel_sizes")):
                    value = getattr(cfg, f"{side}_{name}")[i]
                    if value:
                        genes[f"{side}_{gene}"][i] = value
        for i in range(cfg.decoder_layers):
            genes["decoder_ende_heads"][i] = cfg.decoder_ende_heads[i]
            genes["decoder_ende_layers"][i] = cfg.decoder_ende_layers[i]
        return genes

    def sample(self, rng: random.Random) -> SubConfig:
        """A uniformly drawn SubTransformer (encoder-decoder attention never reads more layers than exist)."""
        genes = self._random_genes(rng)
        fitting = [e for e in self.ende_layers if e <= genes["encoder_layers"]]
        genes["decoder_ende_layers"] = [rng.choice(fitting) for _ in genes["decoder_ende_layers"]]
        return self._build(genes)

    def mutate(self, cfg: SubConfig, prob: float, rng: random.Random) -> SubConfig:
        """HAT's mutation: each gene (each layer's, separately) is redrawn with probability ``prob``."""
        genes = self._genes_of(cfg, rng)
        for name, options in self._scalar_genes().items():
            if rng.random() < prob:
                genes[name] = rng.choice(options)
        for name, (depth, options) in self._layer_genes_choices().items():
            for i in range(depth):
                if rng.random() < prob:
                    genes[name][i] = rng.choice(options)
        return self._build(genes)

    def crossover(self, a: SubConfig, b: SubConfig, rng: random.Random) -> SubConfig:
        """HAT's crossover: every gene (each layer's separately) taken from one parent or the other, at random."""
        ga, gb = self._genes_of(a, rng), self._genes_of(b, rng)
        child = {name: (ga if rng.random() < 0.5 else gb)[name] for name in self._scalar_genes()}
        for name, (depth, _) in self._layer_genes_choices().items():
            child[name] = [(ga if rng.random() < 0.5 else gb)[name][i] for i in range(depth)]
        return self._build(child)

    # ---- the SuperTransformer and the predictor ----
    def largest(self) -> SubConfig:
        """The SuperTransformer's dimensions: every largest choice, with the attention fraction nearest to half
        (the super layers hold a full-width attention and a full-width convolution branch, see
        :mod:`.supertransformer`)."""
        return self._extreme(max)

    def smallest(self) -> SubConfig:
        """Every smallest choice, attention fraction nearest to half (a validation config of the SuperTransformer)."""
        return self._extreme(min)

    def _extreme(self, pick) -> SubConfig:
        genes = {name: pick(options) for name, options in self._scalar_genes().items()}
        genes.update({name: [pick(options)] * depth for name, (depth, options) in self._layer_genes_choices().items()})
        frac = min(self.attn_fractions, key=lambda f: abs(f - 0.5))
        genes["encoder_frac"] = [frac] * len(genes["encoder_frac"])
        genes["decoder_frac"] = [frac] * len(genes["decoder_frac"])
        genes["decoder_ende_layers"] = [min(e, genes["encoder_layers"]) for e in genes["decoder_ende_layers"]]
        return self._build(genes)

    def contains(self, cfg: SubConfig) -> bool:
        """True when every gene of ``cfg`` is one of this space's choices."""
        try:
            self.check_contains(cfg)
        except SearchSpaceError:
            return False
        return True

    def check_contains(self, cfg: SubConfig) -> None:
        """Raise :class:`SearchSpaceError` naming the first field of ``cfg`` that is not among the choices."""
        scalar = {"encoder_embed_dim": self.encoder_embed_dims, "decoder_embed_dim": self.decoder_embed_dims,
                  "encoder_layers": self.encoder_layers, "decoder_layers": self.decoder_layers}
        for name, options in scalar.items():
            if getattr(cfg, name) not in options:
                raise SearchSpaceError(f"SubConfig.{name}={getattr(cfg, name)} is not in the space's {options}")
        per_layer = {"encoder_ffn_dims": self.encoder_ffn_dims, "decoder_ffn_dims": self.decoder_ffn_dims,
                     "encoder_attn_heads": self.attn_heads + (0,), "decoder_attn_heads": self.attn_heads + (0,),
                     "encoder_conv_heads": self.conv_heads + (0,), "decoder_conv_heads": self.conv_heads + (0,),
                     "encoder_kernel_sizes": self.encoder_kernel_sizes + (0,),
                     "decoder_kernel_sizes": self.decoder_kernel_sizes + (0,),
                     "decoder_ende_heads": self.ende_heads, "decoder_ende_layers": self.ende_layers}
        for name, options in per_layer.items():
            bad = [v for v in getattr(cfg, name) if v not in options]
            if bad:
                raise SearchSpaceError(f"SubConfig.{name}: {bad[0]} is not in the space's {options}")
        for side in ("encoder", "decoder"):
            d = getattr(cfg, f"{side}_embed_dim")
            widths = {int(f * d) for f in self.attn_fractions}
            bad = [a for a in getattr(cfg, f"{side}_attn_dims") if a not in widths]
            if bad:
                raise SearchSpaceError(f"SubConfig.{side}_attn_dims: {bad[0]} is not one of the space's "
                                       f"attention widths {sorted(widths)} for embedding dimension {d}")

    def encode(self, cfg: SubConfig) -> List[float]:
        """The architecture encoding fed to the latency predictor: a fixed-length list of numbers in [0, 1], each
        gene divided by the space's largest choice; the layers a config lacks are zeros. Length:
        :meth:`encoding_length`."""
        feats = [cfg.encoder_embed_dim / max(self.encoder_embed_dims),
                 cfg.decoder_embed_dim / max(self.decoder_embed_dims),
                 cfg.encoder_layers / max(self.encoder_layers), cfg.decoder_layers / max(self.decoder_layers)]
        for side, extra in (("encoder", ()), ("decoder", ("ende_heads", "ende_layers"))):
            d = getattr(cfg, f"{side}_embed_dim")
            scale = {"ffn_dims": max(getattr(self, f"{side}_ffn_dims")), "attn_dims": d,
                     "attn_heads": max(self.attn_heads), "conv_heads": max(self.conv_heads),
                     "kernel_sizes": max(getattr(self, f"{side}_kernel_sizes")),
                     "ende_heads": max(self.ende_heads), "ende_layers": max(self.ende_layers)}
            names = ("ffn_dims", "attn_dims", "attn_heads", "conv_heads", "kernel_sizes") + extra
            for i in range(max(getattr(self, f"{side}_layers"))):
                for name in names:
                    values = getattr(cfg, f"{side}_{name}") if name[:4] != "ende" else getattr(cfg, f"decoder_{name}")
                    feats.append(values[i] / scale[name] if i < len(values) else 0.0)
        return feats

    def encoding_length(self) -> int:
        return 4 + 5 * max(self.encoder_layers) + 7 * max(self.decoder_layers)


def _branches(side: str, cfg: SubConfig, conv_type: str, i: int) -> str:
    d = getattr(cfg, f"{side}_embed_dim")
    a = getattr(cfg, f"{side}_attn_dims")[i]
    parts = []
    if a:
        parts.append(f"attn:1:{a}:{getattr(cfg, f'{side}_attn_heads')[i]}")
    if d - a:
        parts.append(f"{conv_type}:{getattr(cfg, f'{side}_kernel_sizes')[i]}:{d - a}:"
                     f"{getattr(cfg, f'{side}_conv_heads')[i]}")
    return "+".join(parts)


def lite_transformer_args(sub: SubConfig, space: SearchSpace) -> List[str]:
    """The ``fairseq-train`` options that build ``sub`` as a plain ``lite_transformer`` (architecture options only:
    the training recipe, dropout included, is the caller's)."""
    args = ["--arch", "lite_transformer"]
    for side in ("encoder", "decoder"):
        n = getattr(sub, f"{side}_layers")
        args += [f"--{side}-embed-dim", str(getattr(sub, f"{side}_embed_dim")), f"--{side}-layers", str(n),
                 f"--{side}-ffn-embed-dim-list", *map(str, getattr(sub, f"{side}_ffn_dims")),
                 f"--{side}-layer-branches", *(_branches(side, sub, space.conv_type, i) for i in range(n)),
                 f"--{side}-glu", str(space.glu), f"--{side}-normalize-before", str(space.normalize_before)]
    args += ["--decoder-attention-heads-list", *map(str, sub.decoder_ende_heads),
             "--decoder-ende-attn-layers", *map(str, sub.decoder_ende_layers),
             "--share-decoder-input-output-embed", str(space.share_decoder_input_output_embed)]
    return args
