"""A loaded authors' checkpoint converted into a checkpoint in the layout current fairseq writes (``cfg`` with the
model options), and the file-to-file conversion behind ``lite-fairseq-convert``."""

import argparse
import warnings
from typing import List, Optional, Tuple

import torch
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from omegaconf import OmegaConf

from lite_fairseq.checkpoint_safety import load_checkpoint

from .build import build_converted_model, build_training_namespace
from .defaults import AUTHORS_MODEL
from .errors import ConversionError
from .options import AuthorsOptions, lite_transformer_options
from .state_dict import map_state_dict

PADDING_NOTE = ("padded positions: the authors mask them before the convolution branch's linear1 (they enter the "
                "convolution as linear1's bias); the converted checkpoint keeps that with --conv-mask-before-linear "
                "True (lite_transformer's default masks after linear1, so padding never changes real positions)")


def convert_state(authors_state: dict) -> Tuple[dict, List[str]]:
    """Convert a loaded authors' checkpoint; returns (our checkpoint state, the model's command-line options)."""
    if not isinstance(authors_state, dict) or "model" not in authors_state:
        raise ConversionError("not a fairseq checkpoint: expected a dict with a 'model' state dict")
    args = authors_state.get("args")
    if args is None and isinstance(authors_state.get("cfg"), dict):
        args = authors_state["cfg"].get("model")
    if not isinstance(args, argparse.Namespace):
        raise ConversionError("the checkpoint carries no argparse.Namespace 'args' (or cfg['model']) describing "
                              "the authors' model")
    opts = AuthorsOptions(args)
    model_options, encoder, decoder = lite_transformer_options(opts)
    mapped = map_state_dict(authors_state["model"], encoder, decoder, opts)
    train_args = build_training_namespace(opts, model_options)
    model = build_converted_model(train_args, authors_state["model"], mapped)

    with warnings.catch_warnings():  # hydra's deprecation notices about fairseq's compose call
        warnings.simplefilter("ignore", UserWarning)
        cfg = convert_namespace_to_omegaconf(train_args)
    history = authors_state.get("optimizer_history") or [{}]
    last = history[-1] if isinstance(history[-1], dict) else {}
    state = {
        "args": None,
        "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "model": model.state_dict(),
        "criterion": None,
        # no optimizer state: the authors' parameter order differs; resume training with --reset-optimizer
        "optimizer_history": [{
            "criterion_name": str(last.get("criterion_name", "CrossEntropyCriterion")),
            "optimizer_name": str(last.get("optimizer_name", "FairseqAdam")),
            "lr_scheduler_state": {"best": _plain_number(last.get("lr_scheduler_state", {}).get("best")
                                                         if isinstance(last.get("lr_scheduler_state"), dict)
                                                         else None)},
            "num_updates": int(last.get("num_updates", 0) or 0),
        }],
        "task_state": {},
        "extra_state": {"converted_from": {"model": AUTHORS_MODEL, "arch": opts.arch,
                                           "note": PADDING_NOTE}},
    }
    return state, model_options


def _plain_number(value):
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def convert_file(src: str, dst: Optional[str]) -> List[str]:
    """Convert the authors' checkpoint ``src`` into ``dst`` (None: only translate); returns the model options."""
    authors_state = load_checkpoint(src)
    try:
        state, model_options = convert_state(authors_state)
    except ConversionError as e:
        raise ConversionError(f"{src}: {e}") from None
    if dst is not None:
        torch.save(state, dst)
    return model_options
