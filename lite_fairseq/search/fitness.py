"""Fitness of a SubTransformer in the search: its validation loss with the SuperTransformer's inherited weights.

The SuperTransformer checkpoint is read through fairseq's loader (the plugin's allow-listed ``weights_only``
loading, see :mod:`lite_fairseq.checkpoint_safety`) with the data directory given on the command line and the
design space the checkpoint holds (not the ``--search-space`` file of training time); the task's
validation subset is batched once, in a fixed order, and every candidate (``model.set_sample_config(sub)``) runs
the same first ``valid_batches`` batches through the training criterion. The fitness is the loss per target token
in base 2, the figure fairseq-train prints as ``valid_loss``.
"""

import math
import os
import tempfile
from typing import Any, List, Optional

import torch
from fairseq import checkpoint_utils, utils

from lite_fairseq.checkpoint_safety import CheckpointLoadError

from .errors import SearchError
from .space import SearchSpace, SubConfig
from .supertransformer import space_from_buffer


def _stored_space(checkpoint: str, directory: str) -> dict:
    """``{"search_space": FILE}`` with the space the checkpoint holds, written to ``directory``: the model is rebuilt
    from it rather than from the ``--search-space`` path of training time, which may not exist here."""
    state = checkpoint_utils.load_checkpoint_to_cpu(checkpoint)
    buffer = state.get("model", {}).get("search_space") if isinstance(state, dict) else None
    if buffer is None:
        return {}
    path = os.path.join(directory, "space.json")
    space_from_buffer(buffer).to_file(path)
    return {"search_space": path}


class SuperNetFitness:
    """``fitness(sub) -> validation loss`` of ``sub`` inside the SuperTransformer of ``checkpoint``."""

    def __init__(self, checkpoint: str, data: str, valid_subset: str = "valid", valid_batches: Optional[int] = None,
                 max_tokens: int = 4096, device: str = "cpu"):
        if not os.path.isfile(checkpoint):
            raise SearchError(f"--super: no such checkpoint file {checkpoint!r}")
        if not os.path.isdir(data):
            raise SearchError(f"DATA_BIN: {data!r} is not a directory (the fairseq-preprocess output the "
                              "SuperTransformer was trained on)")
        if valid_batches is not None and valid_batches < 1:
            raise SearchError(f"--valid-batches must be at least 1, got {valid_batches}")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                overrides = {"data": data, **_stored_space(checkpoint, tmp)}
                models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint],
                                                                                  arg_overrides=overrides)
        except CheckpointLoadError as err:
            raise SearchError(f"--super: {err}") from None
        except (KeyError, AttributeError, RuntimeError, ValueError) as err:
            raise SearchError(f"--super {checkpoint}: cannot load it as a SuperTransformer checkpoint "
                              f"({type(err).__name__}: {err})") from None
        self.model = models[0].to(device).eval()
        if not hasattr(self.model, "set_sample_config"):
            raise SearchError(f"--super {checkpoint}: the model ({type(self.model).__name__}, --arch "
                              f"{getattr(cfg.model, 'arch', '?')}) is not a SuperTransformer (train one with "
                              "--arch lite_supertransformer...)")
        self.cfg, self.task = cfg, task
        self.criterion = task.build_criterion(cfg.criterion)
        try:
            task.load_dataset(valid_subset, combine=False, epoch=1)
        except FileNotFoundError as err:
            raise SearchError(f"DATA_BIN {data}: no {valid_subset!r} subset ({err})") from None
        iterator = task.get_batch_iterator(
            dataset=task.dataset(valid_subset), max_tokens=max_tokens,
            max_positions=utils.resolve_max_positions(task.max_positions(), self.model.max_positions()),
            ignore_invalid_inputs=True, seed=1).next_epoch_itr(shuffle=False)
        self.batches: List[Any] = []
        for sample in iterator:
            if valid_batches is not None and len(self.batches) >= valid_batches:
                break
            self.batches.append(utils.move_to_cuda(sample) if device == "cuda" else sample)
        if not self.batches:
            raise SearchError(f"DATA_BIN {data}: the {valid_subset!r} subset holds no sentence to validate on")
        self.evaluations = 0

    @property
    def space(self) -> Optional[SearchSpace]:
        """The SuperTransformer's design space (``model.space``)."""
        space = getattr(self.model, "space", None)
        return space if isinstance(space, SearchSpace) else None

    @torch.no_grad()
    def __call__(self, sub: SubConfig) -> float:
        self.model.set_sample_config(sub)
        loss, size = 0.0, 0
        for sample in self.batches:
            _, sample_size, logging_output = self.task.valid_step(sample, self.model, self.criterion)
            loss += float(logging_output["loss"])
            size += int(sample_size)
        self.evaluations += 1
        return loss / max(size, 1) / math.log(2)
