"""Extract one SubTransformer of a trained ``lite_supertransformer`` as a plain ``lite_transformer`` checkpoint.

The weights are the SuperTransformer's leading slices (:mod:`.slicing`), the model options those of
:func:`.space.lite_transformer_args` plus the SuperTransformer's shared ones (dropouts, activation, ...), so the
extracted model computes exactly what the SubTransformer computed inside the SuperTransformer. The file loads like
any ``lite_transformer`` checkpoint (``fairseq-generate --user-dir lite_fairseq --path OUT``, fine-tuning with
``fairseq-train --finetune-from-model OUT`` and the same architecture options).

Command line (``lite-fairseq-search extract``): ``--super CKPT --config SUB.json --out PT``.
"""

import argparse
import dataclasses
from pathlib import Path

import torch

from lite_fairseq.checkpoint_safety import load_checkpoint
from lite_fairseq.models.config import LiteTransformerConfig
from lite_fairseq.models.standalone import StandaloneTask, placeholder_dictionary

from .plain import build_plain_model, plain_model_args
from .slicing import sub_state_dict
from .space import SearchSpaceError, SubConfig
from .supertransformer import space_from_buffer

SUPER_ARCHS = ("lite_supertransformer",)


class ExtractError(ValueError):
    """A checkpoint or config that cannot be extracted; the message says which and why."""


def _super_args(state: dict, path) -> argparse.Namespace:
    cfg = state.get("cfg") if isinstance(state.get("cfg"), dict) else None
    model_cfg = cfg.get("model") if cfg else state.get("args")
    if isinstance(model_cfg, dict):
        model_cfg = argparse.Namespace(**model_cfg)
    if not isinstance(model_cfg, argparse.Namespace):
        raise ExtractError(f"{path}: the checkpoint holds no model options (cfg['model']); is it a fairseq "
                           "checkpoint of lite_supertransformer?")
    name = getattr(model_cfg, "_name", None) or getattr(model_cfg, "arch", None)
    if name is not None and not str(name).startswith(SUPER_ARCHS):
        raise ExtractError(f"{path}: a checkpoint of {name}, not of a lite_supertransformer; extract from the "
                           "SuperTransformer trained with --arch lite_supertransformer...")
    return model_cfg


def _vocab_size(model_state: dict, side: str) -> int:
    return model_state[f"{side}.embed_tokens.weight"].size(0)


def extract_state(state: dict, sub: SubConfig, path="the checkpoint") -> dict:
    """The plain ``lite_transformer`` checkpoint (a dict for ``torch.save``) of ``sub`` from the loaded
    SuperTransformer checkpoint ``state``."""
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise ExtractError(f"{path}: not a fairseq checkpoint (no 'model' state dict)")
    super_args = _super_args(state, path)
    weights = state["model"]
    if "search_space" not in weights:
        raise ExtractError(f"{path}: no search_space entry in the model's weights; is it a lite_supertransformer "
                           "checkpoint?")
    space = space_from_buffer(weights["search_space"])
    try:
        space.check_contains(sub)
    except SearchSpaceError as err:
        raise ExtractError(f"the SubTransformer config does not belong to the SuperTransformer's space: {err}"
                           ) from None
    src_dict = placeholder_dictionary(_vocab_size(weights, "encoder"))
    tgt_size = _vocab_size(weights, "decoder")
    shared = weights["encoder.embed_tokens.weight"] is weights["decoder.embed_tokens.weight"]
    tgt_dict = src_dict if shared or tgt_size == len(src_dict) else placeholder_dictionary(tgt_size)
    model = build_plain_model(sub, space, super_args, StandaloneTask(src_dict, tgt_dict))
    sliced = sub_state_dict(weights, sub, space)
    plain_state = model.state_dict()
    unexpected = sorted(set(sliced) - set(plain_state))
    if unexpected:  # a slicing rule and the plain model disagree: never write a half-filled checkpoint
        raise ExtractError(f"internal error: sliced weights the plain model lacks: {unexpected[:5]}")
    for name, tensor in sliced.items():
        plain_state[name] = tensor.detach().clone().contiguous()
    missing = [k for k in plain_state if k not in sliced and not k.endswith(("version", "_float_tensor"))]
    if missing:
        raise ExtractError(f"internal error: plain weights no slice fills: {missing[:5]}")
    model.load_state_dict(plain_state, strict=True)

    plain_args = plain_model_args(sub, space, super_args)
    model_cfg = {f.name: getattr(plain_args, f.name, None) for f in dataclasses.fields(LiteTransformerConfig)}
    model_cfg["_name"] = "lite_transformer"
    cfg = dict(state["cfg"]) if isinstance(state.get("cfg"), dict) else {}
    cfg["model"] = model_cfg
    extra = dict(state.get("extra_state") or {})
    extra["extracted_from"] = {"subtransformer": sub.to_dict()}
    return {
        "args": None,
        "cfg": cfg,
        "model": model.state_dict(),
        "criterion": None,
        "optimizer_history": state.get("optimizer_history") or [{"criterion_name": "CrossEntropyCriterion",
                                                                  "optimizer_name": "FairseqAdam",
                                                                  "lr_scheduler_state": {"best": None},
                                                                  "num_updates": 0}],
        "task_state": state.get("task_state") or {},
        "extra_state": extra,
        "last_optimizer_state": None,  # the SuperTransformer's optimizer state does not fit the SubTransformer
    }


def extract_subtransformer(super_checkpoint, sub, out_path) -> dict:
    """Write ``sub`` (a :class:`.space.SubConfig`, its dict, or a JSON file) of the SuperTransformer checkpoint
    ``super_checkpoint`` as a plain ``lite_transformer`` checkpoint at ``out_path``; returns the written state."""
    if isinstance(sub, dict):
        sub = SubConfig.from_dict(sub)
    elif isinstance(sub, (str, Path)):
        sub = SubConfig.from_file(sub)
    state = load_checkpoint(super_checkpoint)
    plain = extract_state(state, sub, super_checkpoint)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(plain, out_path)
    return plain


def _cmd_extract(opts) -> int:
    extract_subtransformer(opts.super, opts.config, opts.out)
    print(f"wrote {opts.out}: a plain lite_transformer checkpoint of the SubTransformer in {opts.config}")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``extract`` sub-command to ``subparsers`` (``argparse``'s ``add_subparsers()``); it sets
    ``func`` to the function running it (returns the exit status). Errors raise :class:`ExtractError` or
    :class:`.space.SearchSpaceError` (ValueErrors with a message naming the problem)."""
    p = subparsers.add_parser("extract", help="write one SubTransformer of a trained lite_supertransformer as a "
                                              "plain lite_transformer checkpoint (fairseq-generate loads it)")
    p.add_argument("--super", required=True, metavar="CKPT", help="the SuperTransformer checkpoint")
    p.add_argument("--config", required=True, metavar="SUB.json", help="the SubTransformer config (JSON)")
    p.add_argument("--out", required=True, metavar="PT", help="the checkpoint to write")
    p.set_defaults(func=_cmd_extract)
    return p


__all__ = ["ExtractError", "extract_state", "extract_subtransformer", "register"]
