"""Dynamic int8 CPU inference: a model's ``nn.Linear`` layers get int8 weights, activations quantised on the fly.

:func:`quantize_dynamic_for_cpu` has two implementations (``impl=``):

- ``"torch.ao"`` (the default, :data:`DEFAULT_INT8_IMPL`): ``torch.ao.quantization.quantize_dynamic``, fbgemm/x86
  packed int8 kernels. torch 2.13 deprecates this API in favour of torchao (and says so when it runs), but in eager
  mode it is the fast one: 1.07x the float32 decoding speed of a d128 model where torchao's is 0.52x
  (benchmarks/RESULTS.md, "int8 decoding on torchao (issue 14)").
- ``"torchao"``: torchao's maintained API (pinned in requirements.txt), ``torchao.quantization.quantize_(model,
  Int8DynamicActivationInt8WeightConfig())``: every linear layer keeps its module and gets an ``Int8Tensor`` weight
  (int8 per output row); each call quantises the activations per token and multiplies with ``torch._int_mm``,
  unfused outside ``torch.compile``, hence slower than float32 on a CPU today. Same accuracy; no deprecated API.

fairseq's :class:`~fairseq.modules.MultiheadAttention` hands its projection weights straight to
``F.multi_head_attention_forward`` when it can, which neither kind of quantised layer serves (torchao's
``Int8Tensor`` lacks the ``aten.t`` it needs); its step-by-step path (:mod:`.attention_path`) calls the projection
modules instead, so every attention module of a model that is converted is sent down that path.

At generate time: ``fairseq-generate ... --cpu --model-overrides "{'cpu_int8': True}"`` (the default
implementation) or ``"{'cpu_int8': 'torchao'}"`` (lite_transformer models;
:meth:`LiteTransformerModel.prepare_for_inference_` reads the option). The public name is
``lite_fairseq.compression.quantize_dynamic_for_cpu``; the function lives here, below the models, so that the
models do not depend on the compression package.
"""

import logging
import sys
from typing import Dict, Optional

import torch
import torch.nn as nn
from fairseq.modules import MultiheadAttention

from .attention_path import use_module_path

CPU_INT8_OPTION = "cpu_int8"
INT8_IMPLS = ("torch.ao", "torchao")
DEFAULT_INT8_IMPL = "torch.ao"
# loggers that report, when torchao is imported, things that do not concern CPU int8 inference: torchao's CUDA-only
# extensions failing to load on a CPU build of torch, and torch's notice about an enum torchao registers
_QUIET_ON_IMPORT = ("torchao", "torch.utils._pytree")


def _check_cpu_float32(model: nn.Module) -> None:
    for p in model.parameters():
        if p.device.type != "cpu":
            raise ValueError(f"{CPU_INT8_OPTION}: dynamic int8 quantisation runs on the CPU only, but the model is on "
                             f"{p.device}; generate with --cpu")
        if p.dtype != torch.float32:
            raise ValueError(f"{CPU_INT8_OPTION}: the model is in {p.dtype}; dynamic int8 quantisation starts from "
                             "float32 weights (do not combine it with --fp16/--bf16)")
        break


def _import_torchao_quantization():
    loggers = [logging.getLogger(name) for name in _QUIET_ON_IMPORT]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        import torchao.quantization as torchao_quantization
    except ImportError as e:
        raise RuntimeError(f"{CPU_INT8_OPTION}: impl='torchao' needs the torchao package (pip install the version "
                           f"pinned in requirements.txt): {e}") from e
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
    return torchao_quantization


def _quantize_torchao(model: nn.Module) -> None:
    tq = _import_torchao_quantization()
    # set_inductor_config=False: no torch.compile here, so leave the global inductor settings alone
    tq.quantize_(model, tq.Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))


def _quantize_torch_ao(model: nn.Module) -> None:
    if torch.backends.quantized.engine == "none":
        engines = [e for e in ("x86", "fbgemm", "qnnpack") if e in torch.backends.quantized.supported_engines]
        if not engines:
            raise RuntimeError(f"{CPU_INT8_OPTION}: this torch build has no quantised CPU engine")
        torch.backends.quantized.engine = engines[0]
    # torch 2.13 warns that this API is deprecated (migrate to torchao): impl="torchao" is that migration
    torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)


def cpu_int8_impl(value) -> Optional[str]:
    """The implementation a ``cpu_int8`` model option asks for: None when off, :data:`DEFAULT_INT8_IMPL` for True,
    else the one it names (``{'cpu_int8': 'torchao'}``)."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_INT8_IMPL
    if isinstance(value, str) and value in INT8_IMPLS:
        return value
    raise ValueError(f"--model-overrides {CPU_INT8_OPTION}: expected True, False or an int8 implementation name "
                     f"({', '.join(repr(i) for i in INT8_IMPLS)}), got {value!r}")


def quantize_dynamic_for_cpu(model: nn.Module, impl: str = DEFAULT_INT8_IMPL) -> nn.Module:
    """Give the model's linear layers int8 weights and on-the-fly int8 activations, in place; returns the model.

    ``impl`` is ``"torch.ao"`` (the default, faster on a CPU) or ``"torchao"`` (see the module docstring).
    """
    if impl not in INT8_IMPLS:
        raise ValueError(f"{CPU_INT8_OPTION}: unknown int8 implementation {impl!r}; choose one of "
                         f"{', '.join(INT8_IMPLS)}")
    _check_cpu_float32(model)
    for module in model.modules():
        if isinstance(module, MultiheadAttention):
            use_module_path(module)  # call q/k/v/out_proj as modules (see the module docstring)
    model.eval()
    if impl == "torchao":
        _quantize_torchao(model)
    else:
        _quantize_torch_ao(model)
    return model


def _is_torchao_int8(weight) -> bool:
    if "torchao" not in sys.modules:  # no torchao weight can exist before torchao is imported
        return False
    from torchao.quantization import Int8Tensor
    return isinstance(weight, Int8Tensor)


def count_quantized_linears(model: nn.Module) -> Dict[str, int]:
    """How many linear layers of ``model`` are int8 ones (either implementation) and how many are still float."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    counts = {"int8": 0, "float": 0}
    for module in model.modules():
        if isinstance(module, DynamicLinear) or (isinstance(module, nn.Linear)
                                                  and _is_torchao_int8(module.weight)):
            counts["int8"] += 1
        elif isinstance(module, nn.Linear):
            counts["float"] += 1
    return counts
