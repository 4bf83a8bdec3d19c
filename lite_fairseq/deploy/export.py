"""``lite-fairseq-export``: write a trained translation model as an ExecuTorch or ONNX export directory.

    lite-fairseq-export --path checkpoints/checkpoint_best.pt --data data-bin --format onnx --out export/ [--int8]

The directory holds ``encoder.{pte,onnx}`` and ``decoder_step.{pte,onnx}`` (the decoder state as explicit tensors
in and out), ``dict.SRC.txt`` / ``dict.TGT.txt``, ``manifest.json`` (model options, tensor names, shapes and dtypes,
format version, file sizes and checksums) and ``runtime.py``, the decoder loop
(``python export/runtime.py export/ --beam 4 < source.bpe``).
"""

import argparse
import json
import logging
import os
import shutil
import sys
from typing import Dict, List, Optional, Tuple

import torch

from . import backends, graphs, runtime
from .spec import ModelSpec, UnsupportedModelError

DEFAULT_MAX_TARGET_LEN = 256
DEFAULT_MAX_BATCH = 16


def load_checkpoint(path: str, data: str):
    """Load with fairseq (``import lite_fairseq`` first: its loader decompresses compressed checkpoints)."""
    import lite_fairseq  # noqa: F401  (registers the models; decompresses compressed checkpoints)
    from fairseq import checkpoint_utils

    if not os.path.isfile(path):
        raise UnsupportedModelError(f"--path {path}: no such checkpoint file")
    if not os.path.isdir(data):
        raise UnsupportedModelError(f"--data {data}: no such data-bin directory (the one the model was trained on, "
                                    "holding its dict.*.txt files)")
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([path], arg_overrides={"data": data})
    model = models[0].float().eval()
    args = cfg.model if cfg.model is not None else getattr(cfg, "args", None)
    return model, args, task


def _tensor_entries(names: List[str], shapes: List[Tuple], dtype: str) -> List[Dict]:
    return [{"name": n, "shape": list(s), "dtype": dtype} for n, s in zip(names, shapes)]


def _dictionary_entry(dictionary, path: str) -> Dict:
    dictionary.save(path)
    return {"file": os.path.basename(path), "size": len(dictionary), "bytes": os.path.getsize(path),
            "sha256": runtime.sha256_of(path)}


def export(spec: ModelSpec, src_dict, tgt_dict, out: str, fmt: str, int8: bool = False,
           max_target_len: int = DEFAULT_MAX_TARGET_LEN, max_batch: int = DEFAULT_MAX_BATCH,
           langs: Tuple[str, str] = ("src", "tgt"), int8_recipe: Optional[str] = None) -> Dict:
    """Write the export directory for ``spec``; returns the manifest. ``int8_recipe``: one of
    :data:`backends.ONNX_INT8_RECIPES` (ONNX with ``int8`` only; default ``backends.DEFAULT_ONNX_INT8_RECIPE``)."""
    if fmt not in backends.FORMATS:
        raise UnsupportedModelError(f"--format {fmt}: choose one of {', '.join(backends.FORMATS)}")
    if int8_recipe is not None and (fmt != "onnx" or not int8):
        raise UnsupportedModelError(f"--int8-recipe {int8_recipe} applies to --format onnx --int8 only")
    recipe = int8_recipe or backends.DEFAULT_ONNX_INT8_RECIPE
    if recipe not in backends.ONNX_INT8_RECIPES:
        raise UnsupportedModelError(f"--int8-recipe {recipe}: choose one of {', '.join(backends.ONNX_INT8_RECIPES)}")
    if max_target_len < 3:
        raise UnsupportedModelError(f"--max-target-len {max_target_len}: must be at least 3")
    if max_target_len > spec.decoder.max_positions:
        raise UnsupportedModelError(f"--max-target-len {max_target_len} exceeds the decoder's "
                                    f"{spec.decoder.max_positions} positions (--max-target-positions)")
    if max_batch < 2:
        raise UnsupportedModelError(f"--max-batch {max_batch}: must be at least 2")
    for name, d, side in (("source", src_dict, spec.encoder), ("target", tgt_dict, spec.decoder)):
        if d.pad() != side.padding_idx or len(d) != side.embed.size(0):
            raise UnsupportedModelError(f"the {name} dictionary ({len(d)} symbols, padding {d.pad()}) does not "
                                        f"fit the model ({side.embed.size(0)} embeddings, padding "
                                        f"{side.padding_idx}); pass the model's own --data directory")
    if (src_dict.nspecial, src_dict.symbols[:src_dict.nspecial]) != (tgt_dict.nspecial,
                                                                      tgt_dict.symbols[:tgt_dict.nspecial]):
        raise UnsupportedModelError("the source and target dictionaries have different special symbols")
    os.makedirs(out, exist_ok=True)
    ext = backends.FORMATS[fmt]
    cross = graphs.cross_layout(spec.decoder)
    state = graphs.state_layout(spec.decoder)
    cross_names, state_names = [n for n, _ in cross], [n for n, _ in state]
    enc_args, dec_args = graphs.example_inputs(spec)
    max_src = spec.encoder.max_positions
    programs = {}
    for name, module, args, inputs, outputs in (
        ("encoder", graphs.EncoderProgram(spec, as_matmul=fmt == "onnx"), enc_args,
         _tensor_entries(["src_tokens"], [(1, "src_len")], "int64"),
         _tensor_entries(cross_names, [s for _, s in cross], "float32")),
        ("decoder", graphs.DecoderStepProgram(spec, max_target_len, as_matmul=fmt == "onnx",
                                              delegated_softmax=fmt == "executorch" and int8), dec_args,
         _tensor_entries(["tokens", "step"], [("batch", 1), (1,)], "int64")
         + _tensor_entries(cross_names, [s for _, s in cross], "float32")
         + _tensor_entries(state_names, [s for _, s in state], "float32"),
         _tensor_entries(["log_probs"], [("batch", spec.output.size(0))], "float32")
         + _tensor_entries([f"new_{n}" for n in state_names], [s for _, s in state], "float32")),
    ):
        path = os.path.join(out, ("encoder" if name == "encoder" else "decoder_step") + ext)
        shapes = backends.dynamic_shapes(name, len(cross), [s for _, s in state], max_batch, max_src, max_target_len)
        entry = backends.write_program(fmt, module, args, shapes, path, int8, [i["name"] for i in inputs],
                                       [o["name"] for o in outputs], recipe)
        programs[name] = {**entry, "sha256": runtime.sha256_of(path), "inputs": inputs, "outputs": outputs}
    src, tgt = langs
    dictionaries = {"source": _dictionary_entry(src_dict, os.path.join(out, f"dict.{src}.txt")),
                    "target": _dictionary_entry(tgt_dict, os.path.join(out, f"dict.{tgt}.txt"))}
    manifest = {
        "format_version": runtime.FORMAT_VERSION, "format": fmt, "int8": bool(int8), "arch": spec.arch,
        "int8_recipe": recipe if int8 and fmt == "onnx" else None,
        "options": spec.options, "source_lang": src, "target_lang": tgt,
        "max_source_len": max_src, "max_target_len": max_target_len, "max_batch": max_batch,
        "symbols": {"bos": tgt_dict.bos(), "pad": tgt_dict.pad(), "eos": tgt_dict.eos(), "unk": tgt_dict.unk(),
                    "specials": list(tgt_dict.symbols[:tgt_dict.nspecial])},
        "dictionaries": dictionaries, "programs": programs,
        "cross": [{"name": n, "shape": list(s)} for n, s in cross],
        "state": [{"name": n, "shape": list(s)} for n, s in state],
        "runtime": "runtime.py",
    }
    with open(os.path.join(out, runtime.MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    shutil.copyfile(runtime.__file__, os.path.join(out, "runtime.py"))
    return manifest


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lite-fairseq-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", required=True, help="checkpoint (plain or compressed)")
    parser.add_argument("--data", required=True, help="data-bin directory with the model's dict.*.txt")
    parser.add_argument("--format", required=True, choices=sorted(backends.FORMATS))
    parser.add_argument("--out", required=True, help="export directory to write")
    parser.add_argument("--int8", action="store_true", help="8-bit weights (dynamic int8 linear layers)")
    parser.add_argument("--int8-recipe", choices=sorted(backends.ONNX_INT8_RECIPES), default=None,
                        help=f"onnx --int8 only: onnxruntime's quantisation recipe (default "
                             f"{backends.DEFAULT_ONNX_INT8_RECIPE})")
    parser.add_argument("--max-target-len", type=int, default=DEFAULT_MAX_TARGET_LEN,
                        help="the longest target the decoder step takes, in positions (longest hypothesis + 1; the "
                             "runtime clamps max length to it); the caches grow with the hypothesis, so a larger "
                             "value costs nothing per step")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                        help="largest decoder batch, i.e. beam size, the programs accept")
    return parser.parse_args(argv)


def quiet_exporters() -> None:
    """The exporters log every graph pass at INFO/DEBUG; keep the console to warnings."""
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("onnxscript", "onnx_ir", "torch.onnx", "executorch", "torch._export", "root"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        model, model_args, task = load_checkpoint(args.path, args.data)
        from .adapter import read_model

        spec = read_model(model, model_args)
        quiet_exporters()
        langs = (getattr(task.cfg, "source_lang", None) or "src", getattr(task.cfg, "target_lang", None) or "tgt")
        manifest = export(spec, task.source_dictionary, task.target_dictionary, args.out, args.format,
                          args.int8, args.max_target_len, args.max_batch, langs, args.int8_recipe)
    except (UnsupportedModelError, ValueError) as err:
        print(f"lite-fairseq-export: error: {err}", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{p['file']} {p['bytes'] / 1e6:.1f} MB" for p in manifest["programs"].values())
    print(f"wrote {args.out}: {sizes}; decode with: python {os.path.join(args.out, 'runtime.py')} {args.out} "
          "--beam 4 < source.bpe")
    return 0


def console_main() -> None:
    with torch.no_grad():
        sys.exit(main())


if __name__ == "__main__":
    console_main()
