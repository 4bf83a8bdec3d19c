"""Read a trained fairseq model into a :class:`~lite_fairseq.deploy.spec.ModelSpec`: the ONE place that knows
where this plugin (and fairseq's ``transformer``) keep their weights and options.

Weights are read by state-dict name (the names are stable: existing checkpoints must keep loading); options come
from the model's arguments (``resolve_side_layout`` for the LSRA branch layout) and from a few model-level
attributes (``embed_scale``, ``embed_positions``, ``adaptive_softmax``). If modules are restructured, fix the names
here. Anything the export graphs cannot reproduce exactly is refused with :class:`UnsupportedModelError`.
"""

from typing import Dict, List, Optional

import torch
from fairseq.models import FairseqEncoderDecoderModel
from fairseq.models.transformer import TransformerModel
from fairseq.modules import LearnedPositionalEmbedding, SinusoidalPositionalEmbedding

from lite_fairseq.models import LiteTransformerModel
from lite_fairseq.models.lite_transformer_options import resolve_side_layout

from .spec import (ACTIVATIONS, AttentionBranch, ConvBranch, Layer, Linear, ModelSpec, Norm, Side,
                   UnsupportedModelError)

SUPPORTED = "lite_transformer (all presets) and fairseq's transformer (e.g. transformer_paper_*)"


def _opt(args, name, default=None):
    value = getattr(args, name, default)
    return default if value is None else value


class _Weights:
    """State-dict access that names the missing key."""

    def __init__(self, state: Dict[str, torch.Tensor]):
        self.state = state

    def has(self, key: str) -> bool:
        return key in self.state

    def tensor(self, key: str) -> torch.Tensor:
        if key not in self.state:
            raise UnsupportedModelError(f"the model has no parameter {key!r}; the exporter supports {SUPPORTED}")
        return self.state[key].detach().float().clone()

    def linear(self, prefix: str, bias: bool = True) -> Linear:
        has_bias = bias and self.has(f"{prefix}.bias")
        return Linear(self.tensor(f"{prefix}.weight"), self.tensor(f"{prefix}.bias") if has_bias else None)

    def norm(self, prefix: str, eps: float = 1e-5) -> Norm:
        return Norm(self.tensor(f"{prefix}.weight"), self.tensor(f"{prefix}.bias"), eps)

    def attention(self, prefix: str, dim: int, heads: int) -> AttentionBranch:
        for extra in ("bias_k", "bias_v"):
            if self.has(f"{prefix}.{extra}"):
                raise UnsupportedModelError(f"attention {prefix} has {extra} (--add-bias-kv), which the exporter "
                                            "does not support")
        if dim % heads:
            raise UnsupportedModelError(f"{heads} heads do not divide the attention width {dim} at {prefix}")
        return AttentionBranch(dim, heads, *(self.linear(f"{prefix}.{p}_proj") for p in "qkv"),
                               self.linear(f"{prefix}.out_proj"))


def _check_model(model, args) -> str:
    # fairseq-train's dataclass model configs name the architecture in _name, argparse ones in arch
    arch = str(_opt(args, "arch", None) or _opt(args, "_name", type(model).__name__))
    if not isinstance(model, FairseqEncoderDecoderModel):
        raise UnsupportedModelError(
            f"architecture {arch!r} ({type(model).__name__}) is not an encoder-decoder model; language models "
            f"cannot be exported. Supported: {SUPPORTED}")
    if not isinstance(model, (LiteTransformerModel, TransformerModel)):
        raise UnsupportedModelError(f"architecture {arch!r} ({type(model).__name__}) is not supported; "
                                    f"supported: {SUPPORTED}")
    decoder = model.decoder
    if getattr(decoder, "adaptive_softmax", None) is not None:
        raise UnsupportedModelError("an adaptive softmax (--adaptive-softmax-cutoff) cannot be exported; train "
                                    "with a plain output projection")
    for side in (model.encoder, decoder):
        if not isinstance(getattr(side.embed_tokens, "weight", None), torch.Tensor):
            raise UnsupportedModelError("adaptive input embeddings (--adaptive-input) cannot be exported")
        for name in ("project_in_dim", "project_out_dim", "quant_noise"):
            if getattr(side, name, None) is not None:
                raise UnsupportedModelError(f"{type(side).__name__}.{name} is set (decoder input/output dims "
                                            "differing from the embedding dim, or --quant-noise-pq at inference), "
                                            "which the exporter does not support")
    activation = str(_opt(args, "activation_fn", "relu"))
    if activation not in ACTIVATIONS:
        raise UnsupportedModelError(f"--activation-fn {activation} is not supported; use one of "
                                    f"{', '.join(ACTIVATIONS)}")
    for option in ("cross_self_attention", "scale_attn", "scale_fc", "scale_heads", "scale_resids"):
        if bool(_opt(args, option, False)):
            raise UnsupportedModelError(f"--{option.replace('_', '-')} is not supported by the exporter")
    return arch


def _positions(side_module, dim: int) -> Optional[torch.Tensor]:
    """Position embeddings by 0-based token index (fairseq numbers positions from padding_idx + 1)."""
    module = side_module.embed_positions
    if module is None:
        return None
    pad = side_module.padding_idx
    limit = side_module.max_positions()
    if isinstance(module, LearnedPositionalEmbedding):
        table = module.weight.detach().float()
    elif isinstance(module, SinusoidalPositionalEmbedding):
        table = SinusoidalPositionalEmbedding.get_embedding(pad + 1 + limit, dim, pad).float()
    else:
        raise UnsupportedModelError(f"position embedding {type(module).__name__} is not supported")
    return table[pad + 1: pad + 1 + limit].clone()


def _side(model_side, weights: _Weights, prefix: str, layers: List[Layer], args, side: str) -> Side:
    embed = weights.tensor(f"{prefix}.embed_tokens.weight")
    dim = embed.size(1)
    final = f"{prefix}.layer_norm"
    embed_norm = f"{prefix}.layernorm_embedding"
    return Side(embed=embed, embed_scale=float(model_side.embed_scale), padding_idx=int(model_side.padding_idx),
                max_positions=int(model_side.max_positions()), positions=_positions(model_side, dim),
                layers=layers, embed_norm=weights.norm(embed_norm) if weights.has(f"{embed_norm}.weight") else None,
                final_norm=weights.norm(final) if weights.has(f"{final}.weight") else None)


def _lite_branches(weights: _Weights, prefix: str, specs, kernel_size: int, causal: bool, args, side: str):
    branches = []
    for j, spec in enumerate(specs):
        bp = f"{prefix}.self_attn.branches.{j}"
        if spec.is_attention:
            branches.append(weights.attention(bp, spec.dim, spec.heads))
            continue
        K = spec.kernel_size or kernel_size
        linear1 = weights.linear(f"{bp}.linear1")
        glu = linear1.weight.size(0) == 2 * spec.dim
        taps = predictor = None
        if spec.kind == "lightweight":
            taps = weights.tensor(f"{bp}.conv.weight")
            if tuple(taps.shape) != (spec.heads, K):
                raise UnsupportedModelError(f"{bp}.conv.weight has shape {tuple(taps.shape)}, expected "
                                            f"{(spec.heads, K)} from --{side}-kernel-size-list")
        else:
            predictor = weights.linear(f"{bp}.conv.weight_linear")
            if predictor.weight.size(0) != spec.heads * K:
                raise UnsupportedModelError(f"{bp}.conv.weight_linear predicts {predictor.weight.size(0)} taps, "
                                            f"expected {spec.heads}x{K} from --{side}-kernel-size-list")
        branches.append(ConvBranch(kind=spec.kind, dim=spec.dim, heads=spec.heads, kernel_size=K,
                                   padding_l=K - 1 if causal else (K - 1) // 2, glu=glu,
                                   weight_softmax=bool(_opt(args, "weight_softmax", True)), linear1=linear1,
                                   linear2=weights.linear(f"{bp}.linear2"), taps=taps, predictor=predictor))
    return branches


def _lite_spec(model, args, weights: _Weights) -> ModelSpec:
    activation = str(_opt(args, "activation_fn", "relu"))
    sides = {}
    for side, module in (("encoder", model.encoder), ("decoder", model.decoder)):
        layout = resolve_side_layout(args, side)
        causal = side == "decoder"
        layers = []
        for i in range(len(module.layers)):
            lp = f"{side}.layers.{i}"
            cross = cross_norm = None
            if causal:
                if getattr(module, "ende_layers", (1,) * len(module.layers))[i] != 1:
                    raise UnsupportedModelError("--decoder-ende-attn-layers above 1 (encoder-decoder attention over "
                                                "several encoder layers) is not supported by the exporter")
                cross = weights.attention(f"{lp}.encoder_attn", module.embed_tokens.embedding_dim,
                                          module.layers[i].encoder_attn.num_heads)
                cross_norm = weights.norm(f"{lp}.encoder_attn_residual.layer_norm")
            layers.append(Layer(
                branches=_lite_branches(weights, lp, layout.layers[i].branch_specs, layout.layers[i].kernel_size,
                                        causal, args, side),
                mix_norm=weights.norm(f"{lp}.self_attn_residual.layer_norm"), fc1=weights.linear(f"{lp}.ffn.fc1"),
                fc2=weights.linear(f"{lp}.ffn.fc2"), ffn_norm=weights.norm(f"{lp}.ffn_residual.layer_norm"),
                activation=activation, normalize_before=bool(_opt(args, f"{side}_normalize_before", False)),
                cross=cross, cross_norm=cross_norm))
        sides[side] = _side(module, weights, side, layers, args, side)
    layouts = {side: resolve_side_layout(args, side).layers for side in ("encoder", "decoder")}
    options = {
        "encoder_branches": [str(s) for s in layouts["encoder"][0].branch_specs],
        "decoder_branches": [str(s) for s in layouts["decoder"][0].branch_specs],
        "encoder_kernel_sizes": [cfg.kernel_size for cfg in layouts["encoder"]],
        "decoder_kernel_sizes": [cfg.kernel_size for cfg in layouts["decoder"]],
        "encoder_glu": bool(_opt(args, "encoder_glu", True)), "decoder_glu": bool(_opt(args, "decoder_glu", True)),
    }
    return sides["encoder"], sides["decoder"], options


def _transformer_spec(model, args, weights: _Weights):
    activation = str(_opt(args, "activation_fn", "relu"))
    sides = {}
    for side, module in (("encoder", model.encoder), ("decoder", model.decoder)):
        heads = int(_opt(args, f"{side}_attention_heads"))
        dim = module.embed_tokens.embedding_dim
        layers = []
        for i in range(len(module.layers)):
            lp = f"{side}.layers.{i}"
            for extra in ("attn_ln", "ffn_layernorm", "c_attn", "w_resid"):
                if any(k.startswith(f"{lp}.{extra}") for k in weights.state):
                    raise UnsupportedModelError(f"{lp}.{extra} (NormFormer options) is not supported")
            cross = cross_norm = None
            if side == "decoder":
                cross = weights.attention(f"{lp}.encoder_attn", dim, heads)
                cross_norm = weights.norm(f"{lp}.encoder_attn_layer_norm")
            layers.append(Layer(
                branches=[weights.attention(f"{lp}.self_attn", dim, heads)],
                mix_norm=weights.norm(f"{lp}.self_attn_layer_norm"), fc1=weights.linear(f"{lp}.fc1"),
                fc2=weights.linear(f"{lp}.fc2"), ffn_norm=weights.norm(f"{lp}.final_layer_norm"),
                activation=activation, normalize_before=bool(_opt(args, f"{side}_normalize_before", False)),
                cross=cross, cross_norm=cross_norm))
        sides[side] = _side(module, weights, side, layers, args, side)
    return sides["encoder"], sides["decoder"], {}


def read_model(model, args) -> ModelSpec:
    """Describe ``model`` (a loaded fairseq translation model, ``args`` its options) for export."""
    arch = _check_model(model, args)
    model.eval()
    weights = _Weights(model.state_dict())
    reader = _lite_spec if isinstance(model, LiteTransformerModel) else _transformer_spec
    encoder, decoder, extra = reader(model, args, weights)
    output = weights.tensor("decoder.output_projection.weight")
    for side in (encoder, decoder):
        if not side.layers:
            raise UnsupportedModelError("a side without layers cannot be exported")
    options = {
        "model": "lite_transformer" if isinstance(model, LiteTransformerModel) else "transformer",
        "encoder_embed_dim": encoder.dim, "decoder_embed_dim": decoder.dim,
        "encoder_layers": len(encoder.layers), "decoder_layers": len(decoder.layers),
        "activation_fn": str(_opt(args, "activation_fn", "relu")),
        "encoder_normalize_before": bool(_opt(args, "encoder_normalize_before", False)),
        "decoder_normalize_before": bool(_opt(args, "decoder_normalize_before", False)),
        "share_all_embeddings": bool(_opt(args, "share_all_embeddings", False)),
        "share_decoder_input_output_embed": bool(_opt(args, "share_decoder_input_output_embed", False)),
        "max_source_positions": encoder.max_positions, "max_target_positions": decoder.max_positions,
        **extra,
    }
    return ModelSpec(arch=arch, encoder=encoder, decoder=decoder, output=output, options=options)
