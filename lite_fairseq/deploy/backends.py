"""Write the encoder and decoder-step programs as ExecuTorch (.pte, XNNPACK-delegated) or ONNX (.onnx) files,
in float32 or with 8-bit weights. The runtimes' exporters are imported only here, only when used."""

import contextlib
import logging
import os
import tempfile
import warnings
from typing import Dict, List, Sequence

import torch
from torch.export import Dim

from .runtime import IMPORT_NOISE_LOGGERS, TGT_LEN, quiet_loggers, rows_per_batch_row
from .spec import UnsupportedModelError

FORMATS = {"executorch": ".pte", "onnx": ".onnx"}
REQUIREMENTS = "pip install -r requirements-deploy.txt"


def _need(module: str, fmt: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as err:
        raise UnsupportedModelError(f"--format {fmt} needs {module.split('.')[0]} ({err}); {REQUIREMENTS}") from None


def dynamic_shapes(kind: str, n_cross: int, state_shapes: Sequence[Sequence], max_batch: int, max_src: int,
                   max_tgt: int):
    """torch.export's dynamic shapes of a program's inputs; ``state_shapes``: the decoder state's shapes with the
    symbolic dims of :func:`lite_fairseq.deploy.graphs.state_layout` (``"batch"``, ``"batch*N"``, ``"tgt_len"``)."""
    batch, src = Dim("batch", min=1, max=max_batch), Dim("src_len", min=1, max=max_src)
    if kind == "encoder":
        return ({1: src},)
    tgt = Dim("tgt_len", min=0, max=max_tgt - 1)

    def dims(shape):
        out = {}
        for i, d in enumerate(shape):
            if d == TGT_LEN:
                out[i] = tgt
            elif isinstance(d, str):
                factor = rows_per_batch_row(d)
                out[i] = batch if factor == 1 else factor * batch
        return out

    return ({0: batch}, None, [{2: src}] * n_cross, [dims(shape) for shape in state_shapes])


def export_program(module: torch.nn.Module, args, shapes):
    if not isinstance(module, torch.fx.GraphModule):
        module = module.eval()
    with torch.no_grad():
        return torch.export.export(module, args, dynamic_shapes=shapes, strict=False)


def quantize_for_xnnpack(module: torch.nn.Module, args, shapes):
    """Dynamic int8 activations with per-channel int8 weights on every linear layer (XNNPACK's recipe)."""
    quantizer_mod = _need("executorch.backends.xnnpack.quantizer.xnnpack_quantizer", "executorch")
    pt2e = _need("torchao.quantization.pt2e.quantize_pt2e", "executorch")
    quantizer = quantizer_mod.XNNPACKQuantizer().set_global(
        quantizer_mod.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    graph = export_program(module, args, shapes).module()
    prepared = pt2e.prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        prepared(*args)
    return pt2e.convert_pt2e(prepared)


def write_executorch(module: torch.nn.Module, args, shapes, path: str, int8: bool) -> None:
    exir = _need("executorch.exir", "executorch")
    xnnpack = _need("executorch.backends.xnnpack.partition.xnnpack_partitioner", "executorch")
    if int8:
        module = quantize_for_xnnpack(module, args, shapes)
    program = exir.to_edge_transform_and_lower(
        export_program(module, args, shapes), partitioner=[xnnpack.XnnpackPartitioner()]).to_executorch()
    with open(path, "wb") as f:
        program.write_to_file(f)


# onnxruntime's 8-bit weight recipes (``--int8-recipe``). "dynamic-*" run quantize_dynamic: int8 weights (the
# embedding tables too, through Gather), the activations quantised at run time (DynamicQuantizeLinear +
# MatMulInteger, which onnxruntime's graph optimiser fuses); "nbits8*" store MatMulNBits 8-bit block-quantised
# weights (the op onnxruntime tunes for batch-1 LLM decoding), accuracy level 4 computing in int8, level 0 in
# float32. benchmarks/deploy_latency.py --onnx-int8-recipes measures them side by side. The default, per-tensor
# weights, was the fastest dynamic recipe in every run and stays within 0.3 BLEU of float32 on a model trained on real
# text (benchmarks/RESULTS.md, "Tenth round").
ONNX_INT8_RECIPES = {
    "dynamic-per-channel": {"per_channel": True},
    "dynamic-per-tensor": {"per_channel": False},
    "dynamic-reduce-range": {"per_channel": True, "reduce_range": True},
    "dynamic-uint8": {"per_channel": False, "weight_type": "QUInt8"},
    "nbits8": {"nbits": 8, "block_size": 32, "accuracy_level": 4},
    "nbits8-float-compute": {"nbits": 8, "block_size": 32, "accuracy_level": 0},
}
DEFAULT_ONNX_INT8_RECIPE = "dynamic-per-tensor"


def _quantize_onnx(source: str, path: str, recipe: str) -> None:
    if recipe not in ONNX_INT8_RECIPES:
        raise UnsupportedModelError(f"--int8-recipe {recipe}: choose one of {', '.join(ONNX_INT8_RECIPES)}")
    options = dict(ONNX_INT8_RECIPES[recipe])
    if "nbits" in options:
        onnx = _need("onnx", "onnx")
        nbits = _need("onnxruntime.quantization.matmul_nbits_quantizer", "onnx")
        config = nbits.DefaultWeightOnlyQuantConfig(block_size=options["block_size"], is_symmetric=True,
                                                    accuracy_level=options["accuracy_level"], bits=options["nbits"])
        quantizer = nbits.MatMulNBitsQuantizer(onnx.load(source), algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(path, use_external_data_format=False)
        return
    quantization = _need("onnxruntime.quantization", "onnx")
    options["weight_type"] = getattr(quantization.QuantType, options.get("weight_type", "QInt8"))
    quantization.quantize_dynamic(source, path, **options)


def write_onnx(module: torch.nn.Module, args, shapes, path: str, int8: bool, input_names: Sequence[str],
               output_names: Sequence[str], recipe: str = DEFAULT_ONNX_INT8_RECIPE) -> None:
    _need("onnxscript", "onnx")
    onnx = _need("onnx", "onnx")
    target = path
    if int8:
        fd, target = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
        os.close(fd)
    with torch.no_grad():
        program = torch.onnx.export(module.eval(), args, dynamo=True, dynamic_shapes=shapes,
                                    input_names=list(input_names), output_names=list(output_names),
                                    optimize=True, verbose=False)
    program.save(target)
    onnx.checker.check_model(target)
    if int8:
        try:
            _quantize_onnx(target, path, recipe)
        finally:
            os.remove(target)


# What the exporters and quantisers print that a user can do nothing about, kept off stderr while a program is
# written (tests/test_deploy.py checks the export's stderr for each):
# - ExecuTorch's import of torchao (IMPORT_NOISE_LOGGERS), and torch.onnx's note, for every torchvision operator,
#   that torchvision is not installed (the models use none);
_EXPORT_NOISE_LOGGERS = (*IMPORT_NOISE_LOGGERS, "torch.onnx._internal.exporter._registration")
# - torch's notice, raised inside torch.export when it copies its own tree specs, that an isinstance check it makes
#   is deprecated; torch.onnx's notice that two dynamic dimensions with the same range share one name;
_EXPORT_NOISE_WARNINGS = ((FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
                          (UserWarning, r"# The axis name: .* will not be used, since it shares"))
# - onnxruntime's advice to run its quantisation pre-processing first: its symbolic shape inference fails on the
#   decoder step, and without it the quantised graph has the same nodes (tried on Lite WMT-408).
_ORT_PREPROCESSING_ADVICE = "Please consider to run pre-processing before quantization"


class _DropMessages(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


@contextlib.contextmanager
def quiet_export():
    advice = _DropMessages(_ORT_PREPROCESSING_ADVICE)
    root = logging.getLogger()  # onnxruntime.quantization logs its advice through the root logger
    root.addFilter(advice)
    try:
        with quiet_loggers(_EXPORT_NOISE_LOGGERS), warnings.catch_warnings():
            for category, message in _EXPORT_NOISE_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        root.removeFilter(advice)


def write_program(fmt: str, module, args, shapes, path: str, int8: bool, input_names: List[str],
                  output_names: List[str], recipe: str = DEFAULT_ONNX_INT8_RECIPE) -> Dict:
    with quiet_export():
        if fmt == "executorch":
            write_executorch(module, args, shapes, path, int8)
        else:
            write_onnx(module, args, shapes, path, int8, input_names, output_names, recipe)
    return {"file": os.path.basename(path), "bytes": os.path.getsize(path)}
