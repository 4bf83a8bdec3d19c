"""Magnitude pruning of a fairseq state dict through :mod:`torch.nn.utils.prune`, and pruning masks on disk.

Pruning works on the checkpoint's state dict, so any fairseq model (``lite_transformer``, fairseq's
``transformer``) can be pruned without its data directory. Each prunable weight is held by a small module so that
``torch.nn.utils.prune`` (``global_unstructured`` or ``l1_unstructured``) computes the masks; the masks are then
made permanent (``prune.remove``) and returned, keyed by state-dict name, for fine-tuning
(:mod:`lite_fairseq.compression.masked_task`) and for the compact storage.

Prunable: floating-point weights of at least 2 dimensions and ``min_numel`` elements, i.e. the linear layers
(attention projections, the LSRA convolution branch's ``linear1``/``linear2`` and ``weight_linear``, the FFN) and,
unless excluded, the token embeddings. Tensors that share storage (tied embeddings and output projection) are
pruned once. Biases, layer norms and the tiny lightweight-convolution kernels are left dense.
"""

from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch.nn.utils import prune

from lite_fairseq.checkpoint_safety import CheckpointLoadError, load_checkpoint
from lite_fairseq.state_dict_shapes import shape_mismatches

MASKS_FORMAT = "lite_fairseq.prune_masks"
EMBEDDING_KEYS = ("embed_tokens", "embed_positions", "output_projection")
SCOPES = ("global", "layer")


def is_embedding(name: str) -> bool:
    """Token/position embeddings and the output projection (the paper leaves them out of its size counts)."""
    return any(part in name for part in EMBEDDING_KEYS)


def _storage_key(t: torch.Tensor):
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def prunable_names(state_dict: Dict[str, torch.Tensor], include_embeddings: bool = True, min_numel: int = 1024
                   ) -> List[str]:
    names, seen = [], {}
    for name, tensor in state_dict.items():
        key = _storage_key(tensor)
        if key in seen:  # tied to an earlier tensor: pruned with it
            continue
        seen[key] = name
        if not (tensor.is_floating_point() and tensor.dim() >= 2 and tensor.numel() >= min_numel
                and name.endswith("weight")):
            continue
        if is_embedding(name) and not include_embeddings:
            continue
        names.append(name)
    return names


class _Holder(nn.Module):
    """One weight as the ``weight`` parameter of a module, which is what ``torch.nn.utils.prune`` works on."""

    def __init__(self, tensor: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(tensor.detach().clone(), requires_grad=False)


def magnitude_prune(state_dict: Dict[str, torch.Tensor], sparsity: float, scope: str = "global",
                    include_embeddings: bool = True, min_numel: int = 1024) -> Dict[str, torch.Tensor]:
    """Zero the smallest-magnitude weights in place (``state_dict`` tensors are updated, tied ones stay tied) and
    return the masks (bool, True = kept) by state-dict name.

    scope ``global``: one threshold across all prunable tensors (``prune.global_unstructured``), so layers end at
    different sparsities; ``layer``: each tensor pruned to ``sparsity`` on its own (``prune.l1_unstructured``).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope not in SCOPES:
        raise ValueError(f"pruning scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    names = prunable_names(state_dict, include_embeddings, min_numel)
    if not names:
        raise ValueError("the checkpoint has no prunable weights (2-D float tensors named *weight with at least "
                         f"{min_numel} elements)")
    holders = {name: _Holder(state_dict[name]) for name in names}
    if scope == "global":
        prune.global_unstructured([(h, "weight") for h in holders.values()], pruning_method=prune.L1Unstructured,
                                  amount=sparsity)
    else:
        for holder in holders.values():
            prune.l1_unstructured(holder, "weight", amount=sparsity)
    masks = {}
    for name, holder in holders.items():
        masks[name] = holder.weight_mask.detach().bool().clone()
        prune.remove(holder, "weight")
        with torch.no_grad():
            state_dict[name].copy_(holder.weight.to(state_dict[name].dtype))  # in place: tied tensors follow
    return masks


def apply_masks(state_dict: Dict[str, torch.Tensor], masks: Dict[str, torch.Tensor], source="masks") -> None:
    """Zero the masked-out weights of ``state_dict`` in place (``prune.custom_from_mask`` semantics)."""
    for name, shape, weight_shape in shape_mismatches(masks, state_dict):
        if weight_shape is None:
            raise ValueError(f"{source}: mask for {name!r}, which the checkpoint does not have")
        raise ValueError(f"{source}: mask for {name!r} has shape {shape}, the weight {weight_shape}")
    for name, mask in masks.items():
        holder = _Holder(state_dict[name])
        prune.custom_from_mask(holder, "weight", mask.to(holder.weight.dtype))
        prune.remove(holder, "weight")
        with torch.no_grad():
            state_dict[name].copy_(holder.weight.to(state_dict[name].dtype))


def sparsity_of(tensors) -> float:
    tensors = list(tensors)
    total = sum(t.numel() for t in tensors)
    return 1.0 - sum(int(t.count_nonzero()) for t in tensors) / total if total else 0.0


# ---------------------------------------------------------------------------------------------- masks on disk

def save_masks(masks: Dict[str, torch.Tensor], path, info: Optional[dict] = None) -> None:
    torch.save({"format": MASKS_FORMAT, "version": 1, "info": dict(info or {}),
                "masks": {name: m.bool() for name, m in masks.items()}}, str(path))


def load_masks(path) -> Dict[str, torch.Tensor]:
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != MASKS_FORMAT or not isinstance(state.get("masks"), dict):
        raise CheckpointLoadError(f"{path} is not a pruning-mask file written by lite-fairseq-compress prune "
                                  f"(expected format {MASKS_FORMAT!r})")
    masks = state["masks"]
    for name, mask in masks.items():
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise CheckpointLoadError(f"{path}: the mask for {name!r} is not a bool tensor")
    return masks
