"""``--task translation_masked``: translation training that prunes weights and keeps pruned weights at exactly zero.

Two ways to use it (they combine):

One-shot masks from ``lite-fairseq-compress prune``::

    fairseq-train DATA --user-dir lite_fairseq --task translation_masked --prune-masks masks.pt \\
        --finetune-from-model pruned.pt --arch ... (the same model options as the original training)

Gradual magnitude pruning during training (Zhu & Gupta 2017, "To prune, or not to prune"): every
``--prune-frequency`` updates between ``--prune-start-update`` and ``--prune-end-update`` the smallest-magnitude
weights are pruned (:func:`lite_fairseq.compression.pruning.magnitude_prune`, i.e. ``torch.nn.utils.prune``) so
that the sparsity follows the cubic schedule :func:`scheduled_sparsity` up to ``--prune-target-sparsity``; the
network keeps training between the steps and recovers from each small cut::

    fairseq-train DATA --user-dir lite_fairseq --task translation_masked --finetune-from-model trained.pt \\
        --prune-target-sparsity 0.7 --prune-start-update 0 --prune-end-update 600 --prune-frequency 50 \\
        --max-update 1000 --arch ... (the same model options as the original training)

Before each forward pass and after each optimizer step the masked weights are multiplied by their masks, so
whatever the optimizer does to them (Adam moments, weight decay, gradients that a zero weight still receives) they
stay zero in every forward pass and every saved checkpoint. With gradual pruning the masks are the zeros of the
weights: they are rebuilt from the weights when training starts or resumes, so ``checkpoint_last.pt`` resumes where
it stopped, and ``lite-fairseq-compress compress CKPT --sparsity 0`` stores exactly those zeros. The masks are not
re-parametrised with ``torch.nn.utils.prune.custom_from_mask``, because that renames the parameters
(``weight_orig``/``weight_mask``) and the saved checkpoints would no longer load into the plain model. Without the
pruning options the task is plain ``translation``, so the checkpoints generate with or without it.
"""

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask

from .pruning import SCOPES, load_masks, magnitude_prune, prunable_names, sparsity_of

logger = logging.getLogger(__name__)


def scheduled_sparsity(update: int, initial: float, target: float, start: int, end: int) -> float:
    """Zhu & Gupta's cubic schedule: ``initial`` before ``start``, ``target`` from ``end`` on, and in between
    ``target + (initial - target) * (1 - (update - start) / (end - start)) ** 3`` (fast at first, when many small
    weights are redundant, slow at the end)."""
    if update <= start:
        return initial
    if update >= end:
        return target
    return target + (initial - target) * (1.0 - (update - start) / (end - start)) ** 3


@dataclass
class MaskedTranslationConfig(TranslationConfig):
    prune_masks: Optional[str] = field(
        default=None, metadata={"help": "pruning-mask file from lite-fairseq-compress prune: the masked weights "
                                        "stay zero during training"})
    prune_target_sparsity: Optional[float] = field(
        default=None, metadata={"help": "gradual magnitude pruning: fraction of the prunable weights that are zero "
                                        "from --prune-end-update on (cubic schedule, Zhu & Gupta 2017)"})
    prune_start_update: int = field(
        default=0, metadata={"help": "gradual pruning: the update at which pruning starts (counted as fairseq "
                                     "counts updates: from 0 again after --finetune-from-model)"})
    prune_end_update: Optional[int] = field(
        default=None, metadata={"help": "gradual pruning: the update at which --prune-target-sparsity is reached; "
                                        "leave updates after it for the network to recover"})
    prune_frequency: int = field(
        default=50, metadata={"help": "gradual pruning: prune every this many updates"})
    prune_scope: ChoiceEnum(SCOPES) = field(
        default="global", metadata={"help": "gradual pruning: global = one magnitude threshold over all prunable "
                                            "weights; layer = every weight tensor pruned to the scheduled sparsity"})
    no_prune_embeddings: bool = field(
        default=False, metadata={"help": "gradual pruning: leave the token embeddings (and a tied output "
                                         "projection) dense"})


def _check_schedule(cfg) -> None:
    target = cfg.prune_target_sparsity
    if target is None:
        return
    where = "--task translation_masked"
    if not 0.0 < target < 1.0:
        raise ValueError(f"{where}: --prune-target-sparsity must be in (0, 1), got {target}")
    if cfg.prune_end_update is None:
        raise ValueError(f"{where}: --prune-target-sparsity needs --prune-end-update (the update at which the "
                         "target is reached)")
    if cfg.prune_start_update < 0 or cfg.prune_end_update <= cfg.prune_start_update:
        raise ValueError(f"{where}: need 0 <= --prune-start-update < --prune-end-update, got "
                         f"{cfg.prune_start_update} and {cfg.prune_end_update}")
    if cfg.prune_frequency < 1:
        raise ValueError(f"{where}: --prune-frequency must be at least 1, got {cfg.prune_frequency}")


@register_task("translation_masked", dataclass=MaskedTranslationConfig)
class MaskedTranslationTask(TranslationTask):
    cfg: MaskedTranslationConfig

    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        _check_schedule(cfg)
        path = getattr(cfg, "prune_masks", None)
        self.prune_masks: Dict[str, torch.Tensor] = load_masks(path) if path else {}
        self.gradual = getattr(cfg, "prune_target_sparsity", None) is not None
        self._bound: Optional[Tuple[int, List[Tuple[torch.nn.Parameter, torch.Tensor]]]] = None
        self._initial_sparsity: Optional[float] = None  # sparsity of the prunable weights when training started
        self._last_pruned_update: Optional[int] = None

    @staticmethod
    def _parameters(model) -> Dict[str, torch.nn.Parameter]:
        params = {}
        for name, param in model.named_parameters(remove_duplicate=False):
            while name.startswith("module."):  # DistributedDataParallel and similar wrappers
                name = name[len("module."):]
            params[name] = param
        return params

    def _pairs(self, model) -> List[Tuple[torch.nn.Parameter, torch.Tensor]]:
        """(parameter, mask) pairs of ``model``, resolved once per model; every mask must find its weight."""
        if self._bound is None or self._bound[0] != id(model):
            params = self._parameters(model)
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

    def _prunable(self, model) -> Dict[str, torch.Tensor]:
        params = {name: p.data for name, p in self._parameters(model).items()}
        names = prunable_names(params, include_embeddings=not self.cfg.no_prune_embeddings)
        return {name: params[name] for name in names}

    def gradual_prune(self, model, update_num: int) -> None:
        """Prune to the scheduled sparsity when ``update_num`` is a pruning step (once per update, however many
        batches it accumulates); on the first call, take the masks from the zeros the weights already have."""
        cfg = self.cfg
        start, end = cfg.prune_start_update, cfg.prune_end_update
        on_step = (start <= update_num <= end and self._last_pruned_update != update_num
                   and ((update_num - start) % cfg.prune_frequency == 0 or update_num == end))
        if self._initial_sparsity is not None and not on_step:
            return
        weights = self._prunable(model)
        if self._initial_sparsity is None:  # training (re)starts: the zeros are the masks
            self.apply_masks(model)
            self.prune_masks.update({name: w != 0 for name, w in weights.items()})
            self._bound = None
            self._initial_sparsity = sparsity_of(weights.values())
        if not on_step:
            return
        self._last_pruned_update = update_num
        # with --finetune-from-model or a resumed run, the schedule starts from the sparsity found at the start
        initial = min(self._initial_sparsity, cfg.prune_target_sparsity)
        target = scheduled_sparsity(update_num, initial, cfg.prune_target_sparsity, start, end)
        if target <= sparsity_of(weights.values()) + 1e-9:
            return
        alive = {name: w != 0 for name, w in weights.items()}
        with torch.no_grad():
            masks = magnitude_prune(weights, target, scope=cfg.prune_scope, include_embeddings=True, min_numel=0)
        # a weight pruned earlier stays pruned even where this step's per-tensor quota would have kept it, and masks
        # from --prune-masks outside the pruned set (e.g. embeddings with --no-prune-embeddings) stay in force
        self.prune_masks.update({name: mask & alive[name] for name, mask in masks.items()})
        self._bound = None
        logger.info(f"gradual pruning at update {update_num}: {sparsity_of(weights.values()):.1%} of "
                    f"{sum(w.numel() for w in weights.values()):,} prunable weights are zero "
                    f"(target {cfg.prune_target_sparsity:.1%} at update {end})")

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        if self.gradual:
            self.gradual_prune(model, update_num)
        self.apply_masks(model)  # also covers the first step after --finetune-from-model
        return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)

    def optimizer_step(self, optimizer, model, update_num):
        super().optimizer_step(optimizer, model, update_num)
        self.apply_masks(model)
