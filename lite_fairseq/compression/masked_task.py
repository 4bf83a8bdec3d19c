"""``--task translation_masked``: translation fine-tuning that keeps pruned weights at exactly zero.

    fairseq-train DATA --user-dir lite_fairseq --task translation_masked --prune-masks masks.pt \\
        --finetune-from-model pruned.pt --arch ... (the same model options as the original training)

``masks.pt`` and ``pruned.pt`` come from ``lite-fairseq-compress prune``. Before each forward pass and after each
optimizer step the masked weights are multiplied by their masks, so whatever the optimizer does to them (Adam
moments, weight decay, gradients that a zero weight still receives) they stay zero in every forward pass and in
every saved checkpoint. The masks are not re-parametrised with ``torch.nn.utils.prune.custom_from_mask``, because
that renames the parameters (``weight_orig``/``weight_mask``) and the saved checkpoints would no longer load into
the plain model. Without ``--prune-masks`` the task is plain ``translation``, so the fine-tuned checkpoints
generate with or without it.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask

from .pruning import load_masks


@dataclass
class MaskedTranslationConfig(TranslationConfig):
    prune_masks: Optional[str] = field(
        default=None, metadata={"help": "pruning-mask file from lite-fairseq-compress prune: the masked weights "
                                        "stay zero during training"})


@register_task("translation_masked", dataclass=MaskedTranslationConfig)
class MaskedTranslationTask(TranslationTask):
    cfg: MaskedTranslationConfig

    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        path = getattr(cfg, "prune_masks", None)
        self.prune_masks: Dict[str, torch.Tensor] = load_masks(path) if path else {}
        self._bound: Optional[Tuple[int, List[Tuple[torch.nn.Parameter, torch.Tensor]]]] = None

    def _pairs(self, model) -> List[Tuple[torch.nn.Parameter, torch.Tensor]]:
        """(parameter, mask) pairs of ``model``, resolved once per model; every mask must find its weight."""
        if self._bound is None or self._bound[0] != id(model):
            params = {}
            for name, param in model.named_parameters(remove_duplicate=False):
                while name.startswith("module."):  # DistributedDataParallel and similar wrappers
                    name = name[len("module."):]
                params[name] = param
            pairs = []
            for name, mask in self.prune_masks.items():
                param = params.get(name)
                if param is None:
                    raise ValueError(f"--prune-masks {self.cfg.prune_masks}: mask for {name!r}, but the model has "
                                     "no such parameter (were the masks made from a checkpoint of this "
                                     "architecture?)")
                if tuple(param.shape) != tuple(mask.shape):
                    raise ValueError(f"--prune-masks {self.cfg.prune_masks}: mask for {name!r} has shape "
                                     f"{tuple(mask.shape)}, the parameter {tuple(param.shape)}")
                pairs.append((param, mask.to(device=param.device, dtype=param.dtype)))
            self._bound = (id(model), pairs)
        return self._bound[1]

    def apply_masks(self, model) -> None:
        if not self.prune_masks:
            return
        with torch.no_grad():
            for param, mask in self._pairs(model):
                param.mul_(mask)

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        self.apply_masks(model)  # also covers the first step after --finetune-from-model
        return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)

    def optimizer_step(self, optimizer, model, update_num):
        super().optimizer_step(optimizer, model, update_num)
        self.apply_masks(model)
