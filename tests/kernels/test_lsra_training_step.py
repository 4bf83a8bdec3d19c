"""End to end through the model: one training step of a Lite Transformer whose LSRA convolutions run on the Triton
kernel gives the loss and the gradients of every parameter that the PyTorch path gives.

On a CUDA GPU the kernels are compiled; without one they run under Triton's interpreter on the CPU (conftest.py sets
TRITON_INTERPRET=1), so CI checks the wiring model -> LSRA -> kernel -> autograd on every change.
"""

import pytest
import torch
from kernel_helpers import DEVICE, needs_triton
from model_helpers import build_model, make_dictionary, random_tokens

pytestmark = needs_triton

SMALL = ["--encoder-embed-dim", "32", "--encoder-layers", "2", "--decoder-layers", "2",
         "--encoder-kernel-size-list", "3", "7", "--decoder-kernel-size-list", "3", "7",
         "--encoder-attention-heads", "2", "--decoder-attention-heads", "2", "--dropout", "0.0"]


def _step(model, src, src_lengths, prev, target, pad):
    model.zero_grad(set_to_none=True)
    logits, _ = model(src, src_lengths, prev)
    lprobs = torch.log_softmax(logits.float(), dim=-1)
    loss = torch.nn.functional.nll_loss(lprobs.view(-1, lprobs.size(-1)), target.view(-1), ignore_index=pad,
                                        reduction="sum")
    loss.backward()
    return loss.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("conv_type,glu", [("dynamic", True), ("dynamic", False), ("lightweight", False)])
def test_training_step_matches_the_pytorch_path(conv_type, glu):
    d = make_dictionary(30)
    opts = SMALL + ["--encoder-conv-type", conv_type, "--decoder-conv-type", conv_type,
                    "--encoder-glu", str(glu), "--decoder-glu", str(glu)]
    ref = build_model("lite_transformer_tiny", opts + ["--conv-backend", "torch"], d, seed=3).to(DEVICE)
    fused = build_model("lite_transformer_tiny", opts + ["--conv-backend", "triton"], d, seed=3).to(DEVICE)
    fused.load_state_dict(ref.state_dict())
    ref.train(), fused.train()  # dropout and weight dropout are 0, so training mode is deterministic

    g = torch.Generator().manual_seed(0)
    batch, src_len, tgt_len = 3, 11, 9
    src = random_tokens(d, batch, src_len, g)
    src[0, :4] = d.pad()  # left-padded source, as fairseq batches it: the padding mask reaches the convolutions
    src_lengths = src.ne(d.pad()).sum(1)
    target = random_tokens(d, batch, tgt_len, g)
    target[1, -3:] = d.pad()
    prev = torch.cat([torch.full((batch, 1), d.eos()), target[:, :-1]], dim=1)
    tensors = [t.to(DEVICE) for t in (src, src_lengths, prev, target)]

    loss_ref, grads_ref = _step(ref, *tensors, d.pad())
    loss_fused, grads_fused = _step(fused, *tensors, d.pad())
    assert torch.isfinite(loss_ref)
    assert torch.allclose(loss_fused, loss_ref, rtol=1e-5, atol=1e-5), (loss_fused.item(), loss_ref.item())
    assert grads_fused.keys() == grads_ref.keys()
    conv_grads = [n for n in grads_ref if "conv" in n]
    assert conv_grads, "the model has no convolution-branch parameters: the test would not exercise the kernel"
    # relative to the tensor's own largest gradient; tensors whose gradient is zero in exact arithmetic (the key
    # projection's bias: softmax ignores a constant shift) hold only rounding noise, so they are held to 1e-6 of the
    # largest gradient anywhere in the model
    global_scale = max(g.abs().max() for g in grads_ref.values())
    for name, g_ref in grads_ref.items():
        scale = torch.maximum(g_ref.abs().max(), 1e-2 * global_scale)
        assert (grads_fused[name] - g_ref).abs().max() / scale < 1e-4, name


def test_the_model_really_dispatches_to_the_kernel(monkeypatch):
    """Guard for the test above: with conv_backend=triton the Triton path is taken (not silently the torch one):
    with the PyTorch convolutions made to fail, the model still runs; with the default backend on the CPU, it
    reaches them."""
    from lite_fairseq import kernels

    def torch_path(*args, **kwargs):
        raise AssertionError("the PyTorch convolution path ran")

    monkeypatch.setattr(kernels, "dynamic_conv_cpu", torch_path)
    monkeypatch.setattr(kernels, "dynamic_conv_from_logits_cpu", torch_path)
    monkeypatch.setattr(kernels, "lightweight_conv_cpu", torch_path)
    d = make_dictionary(30)
    src = random_tokens(d, 2, 6).to(DEVICE)
    model = build_model("lite_transformer_tiny", SMALL + ["--conv-backend", "triton"], d).to(DEVICE)
    model(src, torch.tensor([6, 6], device=DEVICE), src[:, :5])
    if DEVICE == "cpu":  # control: the patch does catch the PyTorch path
        plain = build_model("lite_transformer_tiny", SMALL + ["--conv-backend", "torch"], d)
        with pytest.raises(AssertionError, match="PyTorch convolution path ran"):
            plain(src, torch.tensor([6, 6]), src[:, :5])
