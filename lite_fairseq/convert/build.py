"""The converted ``lite_transformer`` model: fairseq-train's options for it, the model built from them with
placeholder dictionaries of the checkpoint's vocabulary sizes, and the renamed parameters loaded into it after
every name and shape was checked."""

import argparse
from typing import Dict, Sequence

import torch
from fairseq import options
from fairseq.tasks import TASK_REGISTRY

from lite_fairseq.models import LiteTransformerModel
from lite_fairseq.models.standalone import ModelOptionError, StandaloneTask, placeholder_dictionary
from lite_fairseq.state_dict_shapes import shape_mismatches

from .errors import ConversionError
from .options import AuthorsOptions


def build_training_namespace(opts: AuthorsOptions, model_options: Sequence[str]) -> argparse.Namespace:
    """All of fairseq-train's options for the converted model, as a command line would give them."""
    task = getattr(opts.args, "task", "translation")
    if task not in TASK_REGISTRY:
        task = "translation"
    data = getattr(opts.args, "data", None)
    if isinstance(data, (list, tuple)):
        data = data[0] if data else None
    cli = [str(data or "data-bin"), "--task", task] + list(model_options)
    for ours, theirs in (("--source-lang", "source_lang"), ("--target-lang", "target_lang")):
        if getattr(opts.args, theirs, None):
            cli += [ours, str(getattr(opts.args, theirs))]
    parser = options.get_training_parser()
    try:
        return options.parse_args_and_arch(parser, input_args=cli)
    except SystemExit:
        raise ConversionError(f"fairseq rejected the translated options: {' '.join(cli)}") from None


def _dictionary_for(state: Dict[str, torch.Tensor], key: str):
    if key not in state:
        raise ConversionError(f"the authors' checkpoint has no {key!r}")
    try:
        return placeholder_dictionary(int(state[key].shape[0]))
    except ModelOptionError as e:
        raise ConversionError(f"{key}: {e}") from None


def _check_against(mapped: Dict[str, torch.Tensor], model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """Every parameter of ``model`` got a tensor of its shape and every tensor found a parameter; returns the full
    state dict to load (the model's own buffers where the checkpoint has none)."""
    expected = model.state_dict()
    buffers = {name for name, _ in model.named_buffers()}
    missing = [k for k in expected if k not in mapped and k not in buffers]
    if missing:
        raise ConversionError("the authors' checkpoint lacks parameters the model described by its args needs "
                              f"(lite_transformer names): {', '.join(missing[:8])}"
                              + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""))
    for key, shape, needed in shape_mismatches(mapped, expected):
        if needed is None:
            raise ConversionError(f"internal error: converted parameter {key} does not exist in lite_transformer")
        raise ConversionError(f"parameter {key}: the checkpoint's tensor has shape {shape}, the model described by "
                              f"its args needs {needed}")
    full = dict(expected)
    full.update({k: v.to(expected[k].dtype) for k, v in mapped.items()})
    return full


def build_converted_model(train_args: argparse.Namespace, authors_model: Dict[str, torch.Tensor],
                          mapped: Dict[str, torch.Tensor]) -> LiteTransformerModel:
    """The ``lite_transformer`` model of ``train_args`` holding the ``mapped`` parameters (``mapped`` gains the
    tied tensors the authors' state dict stores once)."""
    src_dict = _dictionary_for(authors_model, "encoder.embed_tokens.weight")
    if train_args.share_all_embeddings:
        tgt_dict = src_dict
    else:
        tgt_dict = _dictionary_for(authors_model, "decoder.embed_tokens.weight")
    model = LiteTransformerModel.build_model(argparse.Namespace(**vars(train_args)), StandaloneTask(src_dict, tgt_dict))
    tied = (("decoder.embed_tokens.weight", "encoder.embed_tokens.weight", train_args.share_all_embeddings),
            ("decoder.output_projection.weight", "decoder.embed_tokens.weight",
             model.decoder.share_input_output_embed))
    for key, source, shared in tied:
        if shared and key not in mapped and source in mapped:
            mapped[key] = mapped[source]
    model.load_state_dict(_check_against(mapped, model), strict=True)
    if model.decoder.share_input_output_embed:
        if not torch.equal(model.decoder.output_projection.weight, model.decoder.embed_tokens.weight):
            raise ConversionError("internal error: tied output projection differs from the embeddings")
    return model
