"""Dynamic int8 CPU inference on torchao (``quantize_dynamic_for_cpu(model, impl="torchao")``): the linear layers
get torchao int8 weights, the outputs stay close to float32, fairseq's attention keeps working, and torch's
deprecated ``torch.ao.quantization`` is not involved. The command-line test is in test_compression.py (it shares
that file's trained checkpoint)."""

import warnings

import pytest
import torch
import torch.nn as nn

from model_helpers import build_model, forward_random_batch, make_dictionary

import lite_fairseq  # noqa: F401
from lite_fairseq.compression import quantize_dynamic_for_cpu
from lite_fairseq.modules.int8 import DEFAULT_INT8_IMPL, INT8_IMPLS, count_quantized_linears, cpu_int8_impl

torchao_quantization = pytest.importorskip("torchao.quantization")


def _model(arch="lite_transformer_tiny", extra=("--share-all-embeddings",)):
    dictionary = make_dictionary(300)
    return build_model(arch, list(extra), dictionary=dictionary, seed=0).eval(), dictionary


def test_torchao_impl_gives_every_linear_a_torchao_int8_weight_and_stays_close():
    model, dictionary = _model()
    fp32_out = forward_random_batch(model, dictionary)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert quantize_dynamic_for_cpu(model, impl="torchao") is model
    assert all(isinstance(m.weight, torchao_quantization.Int8Tensor) for m in linears)
    assert all(m.weight.qdata.dtype == torch.int8 for m in linears)
    assert count_quantized_linears(model) == {"int8": len(linears), "float": 0} and len(linears) > 20
    int8_out = forward_random_batch(model, dictionary)
    assert not torch.equal(int8_out, fp32_out)
    assert torch.allclose(torch.log_softmax(int8_out, -1), torch.log_softmax(fp32_out, -1), atol=0.15)


def test_torchao_impl_on_fairseq_transformer_attention():
    # fairseq's MultiheadAttention would hand the torchao weights to F.multi_head_attention_forward, which fails
    # on them (aten.t is not implemented for Int8Tensor); the conversion makes it call its projection modules
    model, dictionary = _model("transformer_paper_iwslt_128", extra=())
    fp32_out = forward_random_batch(model, dictionary)
    quantize_dynamic_for_cpu(model, impl="torchao")
    assert count_quantized_linears(model)["float"] == 0
    int8_out = forward_random_batch(model, dictionary)
    assert torch.allclose(torch.log_softmax(int8_out, -1), torch.log_softmax(fp32_out, -1), atol=0.15)


def test_torchao_impl_raises_no_torch_ao_quantization_deprecation():
    model, dictionary = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantize_dynamic_for_cpu(model, impl="torchao")
        forward_random_batch(model, dictionary)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "torch.ao.quantization" in m or "quantize_per_tensor" in m], messages


def test_count_quantized_linears_counts_both_implementations():
    for impl in INT8_IMPLS:
        model, _ = _model()
        n = sum(isinstance(m, nn.Linear) for m in model.modules())
        assert count_quantized_linears(model) == {"int8": 0, "float": n}
        quantize_dynamic_for_cpu(model, impl=impl)
        assert count_quantized_linears(model) == {"int8": n, "float": 0}, impl


def test_int8_refuses_unknown_impl_and_non_float32_models():
    model, _ = _model()
    with pytest.raises(ValueError, match="cpu_int8: unknown int8 implementation 'onnx'; choose one of"):
        quantize_dynamic_for_cpu(model, impl="onnx")
    for impl in INT8_IMPLS:
        with pytest.raises(ValueError, match=r"cpu_int8: the model is in torch.bfloat16; .*float32 weights"):
            quantize_dynamic_for_cpu(_model()[0].to(torch.bfloat16), impl=impl)
    assert count_quantized_linears(model)["int8"] == 0  # refused before anything was converted


def test_cpu_int8_option_values():
    assert cpu_int8_impl(False) is None and cpu_int8_impl(None) is None
    assert cpu_int8_impl(True) == DEFAULT_INT8_IMPL == "torch.ao"
    assert cpu_int8_impl("torchao") == "torchao"
    with pytest.raises(ValueError, match="cpu_int8: expected True, False or an int8 implementation name .*'fast'"):
        cpu_int8_impl("fast")
