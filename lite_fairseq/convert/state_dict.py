"""The authors' parameter names renamed to ``lite_transformer``'s; a parameter that maps to nothing is an error."""

import re
from typing import Dict, List

import torch

from .errors import ConversionError
from .options import AuthorsOptions, SideSettings

_LAYER_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")
_ATTN_PARAMS = ("q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
                "out_proj.weight", "out_proj.bias")
_LAYER_RENAMES = {
    "self_attn_layer_norm": "self_attn_residual.layer_norm",
    "encoder_attn_layer_norm": "encoder_attn_residual.layer_norm",
    "final_layer_norm": "ffn_residual.layer_norm",
    "fc1": "ffn.fc1",
    "fc2": "ffn.fc2",
}
# the oldest fairseq layer-norm names (the authors' upgrade_state_dict_named renames them the same way)
_OLD_LAYER_NORMS = {"encoder": {"0": "self_attn_layer_norm", "1": "final_layer_norm"},
                    "decoder": {"0": "self_attn_layer_norm", "1": "encoder_attn_layer_norm",
                                "2": "final_layer_norm"}}


def _split_in_proj(prefix: str, suffix: str, tensor: torch.Tensor, out: Dict[str, torch.Tensor]) -> None:
    """Old fairseq attention stored q, k and v stacked in in_proj_weight / in_proj_bias."""
    if tensor.shape[0] % 3 != 0:
        raise ConversionError(f"{prefix}.in_proj_{suffix} has {tensor.shape[0]} rows, not a multiple of 3")
    for name, part in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0)):
        out[f"{prefix}.{name}.{suffix}"] = part


def _map_attention(dst_prefix: str, rest: str, tensor, out) -> bool:
    if rest in _ATTN_PARAMS:
        out[f"{dst_prefix}.{rest}"] = tensor
        return True
    if rest in ("in_proj_weight", "in_proj_bias"):
        _split_in_proj(dst_prefix, rest.split("_")[-1], tensor, out)
        return True
    return False


def _map_conv(src_key: str, dst_prefix: str, rest: str, tensor, spec, out) -> bool:
    if rest in ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"):
        out[f"{dst_prefix}.{rest}"] = tensor
        return True
    if spec.kind == "dynamic" and rest == "weight_linear.weight":
        out[f"{dst_prefix}.conv.weight_linear.weight"] = tensor
        return True
    if spec.kind == "lightweight" and rest == "weight":
        if tensor.dim() == 3 and tensor.shape[1] == 1:  # LightweightConv1dTBC: (H, 1, K); the CUDA layer: (H, K)
            tensor = tensor.reshape(tensor.shape[0], tensor.shape[2])
        out[f"{dst_prefix}.conv.weight"] = tensor
        return True
    if rest in ("bias", "conv_bias", "weight_linear.bias"):
        raise ConversionError(f"parameter {src_key}: a convolution bias, which lite_transformer's convolution "
                              "branch does not have")
    return False


def map_state_dict(state: Dict[str, torch.Tensor], encoder: SideSettings, decoder: SideSettings,
                   opts: AuthorsOptions) -> Dict[str, torch.Tensor]:
    """Rename the authors' parameters to lite_transformer's; raise on any parameter that maps to nothing."""
    sides = {"encoder": encoder, "decoder": decoder}
    out: Dict[str, torch.Tensor] = {}
    leftover: List[str] = []
    for key, tensor in state.items():
        if not torch.is_tensor(tensor):
            raise ConversionError(f"model entry {key!r} is a {type(tensor).__name__}, not a tensor")
        match = _LAYER_KEY.match(key)
        if match:
            side, index, rest = match.group(1), int(match.group(2)), match.group(3)
            settings = sides[side]
            if index >= settings.layers:
                leftover.append(key)
                continue
            layer = f"{side}.layers.{index}"
            old = re.match(r"^layer_norms\.(\d+)\.(weight|bias)$", rest)
            if old and old.group(1) in _OLD_LAYER_NORMS[side]:
                rest = f"{_OLD_LAYER_NORMS[side][old.group(1)]}.{old.group(2)}"
            head, _, tail = rest.partition(".")
            if head in _LAYER_RENAMES and tail in ("weight", "bias"):
                out[f"{layer}.{_LAYER_RENAMES[head]}.{tail}"] = tensor
                continue
            if head == "encoder_attn" and side == "decoder":
                if _map_attention(f"{layer}.encoder_attn", tail, tensor, out):
                    continue
            if head == "self_attn":
                if settings.plain_attention:
                    if _map_attention(f"{layer}.self_attn.branches.0", tail, tensor, out):
                        continue
                branch = re.match(r"^branches\.(\d+)\.(.+)$", tail)
                if branch and int(branch.group(1)) < len(settings.specs):
                    j, inner = int(branch.group(1)), branch.group(2)
                    spec = settings.specs[j]
                    dst = f"{layer}.self_attn.branches.{j}"
                    if spec.is_attention and _map_attention(dst, inner, tensor, out):
                        continue
                    if not spec.is_attention and _map_conv(key, dst, inner, tensor, spec, out):
                        continue
            leftover.append(key)
            continue
        side, _, rest = key.partition(".")
        if side not in sides:
            leftover.append(key)
        elif rest == "embed_tokens.weight" or rest in ("layer_norm.weight", "layer_norm.bias"):
            out[key] = tensor
        elif rest == "embed_positions.weight" and opts.flag(f"{side}_learned_pos"):
            out[key] = tensor
        elif rest in ("embed_positions._float_tensor", "embed_positions.weights"):
            pass  # sinusoidal tables are recomputed; the model provides its own buffer
        elif rest == "version":
            _check_version(side, tensor, opts)
        elif side == "decoder" and rest == "embed_out":
            out["decoder.output_projection.weight"] = tensor
        else:
            leftover.append(key)
    if leftover:
        shown = ", ".join(leftover[:8]) + (f" and {len(leftover) - 8} more" if len(leftover) > 8 else "")
        raise ConversionError(f"parameters of the authors' checkpoint with no counterpart in lite_transformer: "
                              f"{shown}. The model uses a feature this converter cannot represent (e.g. projected "
                              "input embeddings, adaptive softmax, an output projection of a different width) or "
                              "does not match its args")
    return out


def _check_version(side: str, tensor: torch.Tensor, opts: AuthorsOptions) -> None:
    """The authors' model drops the final pre-norm layer norm of checkpoints with an old version buffer."""
    version = float(tensor.reshape(-1)[0]) if tensor.numel() else 1.0
    too_old = version < 2 if side == "encoder" else version <= 2
    if too_old and opts.flag(f"{side}_normalize_before"):
        raise ConversionError(f"{side}.version={version:g} with {side}_normalize_before=True: the authors' model "
                              f"then skips the {side}'s final layer norm, which lite_transformer always applies")

