"""Dynamic int8 CPU inference: a model's ``nn.Linear`` layers become dynamically quantised int8 ones.

:func:`quantize_dynamic_for_cpu` converts them with ``torch.ao.quantization.quantize_dynamic`` (int8 weights,
activations quantised on the fly per batch), which is what makes decoding faster on a CPU. fairseq's
:class:`~fairseq.modules.MultiheadAttention` hands its projection weights straight to
``F.multi_head_attention_forward`` when it can, which a quantised linear layer cannot serve; its
``skip_embed_dim_check`` flag (meant for exactly this kind of change, see its source) makes it call the projection
modules instead, so it is set on every attention module of a model that is converted.

At generate time: ``fairseq-generate ... --cpu --model-overrides "{'cpu_int8': True}"`` (lite_transformer models;
:meth:`LiteTransformerModel.prepare_for_inference_` reads the option). The public name is
``lite_fairseq.compression.quantize_dynamic_for_cpu``; the function lives here, below the models, so that the
models do not depend on the compression package.
"""

from typing import Dict

import torch
import torch.nn as nn
from fairseq.modules import MultiheadAttention
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

CPU_INT8_OPTION = "cpu_int8"


def quantize_dynamic_for_cpu(model: nn.Module) -> nn.Module:
    """Replace the model's linear layers by dynamically quantised int8 ones, in place; returns the model."""
    for p in model.parameters():
        if p.device.type != "cpu":
            raise ValueError(f"{CPU_INT8_OPTION}: dynamic int8 quantisation runs on the CPU only, but the model is on "
                             f"{p.device}; generate with --cpu")
        if p.dtype != torch.float32:
            raise ValueError(f"{CPU_INT8_OPTION}: the model is in {p.dtype}; dynamic int8 quantisation starts from "
                             "float32 weights (do not combine it with --fp16/--bf16)")
        break
    for module in model.modules():
        if isinstance(module, MultiheadAttention):
            module.skip_embed_dim_check = True  # call q/k/v/out_proj as modules (see the module docstring)
    if torch.backends.quantized.engine == "none":
        engines = [e for e in ("x86", "fbgemm", "qnnpack") if e in torch.backends.quantized.supported_engines]
        if not engines:
            raise RuntimeError(f"{CPU_INT8_OPTION}: this torch build has no quantised CPU engine")
        torch.backends.quantized.engine = engines[0]
    model.eval()
    torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
    return model


def count_quantized_linears(model: nn.Module) -> Dict[str, int]:
    """How many linear layers of ``model`` are dynamic int8 ones and how many are still float."""
    counts = {"int8": 0, "float": 0}
    for module in model.modules():
        if isinstance(module, DynamicLinear):
            counts["int8"] += 1
        elif isinstance(module, nn.Linear):
            counts["float"] += 1
    return counts
