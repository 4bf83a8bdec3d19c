"""The model runs in bfloat16 and float16 (what fairseq's --bf16/--fp16 turn it into): finite outputs and
gradients, and step-by-step decoding close to the full pass at that precision. On a GPU the same code runs under
fairseq-train --fp16/--bf16; here the CPU checks the dtype handling (softmax over taps in float32, masks, the
single-step path)."""

import pytest
import torch

from model_helpers import build_model, make_dictionary, random_tokens


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("arch", ["lite_transformer_tiny"])
def test_half_precision_forward_backward_and_incremental(arch, dtype):
    d = make_dictionary()
    model = build_model(arch, dictionary=d)
    g = torch.Generator().manual_seed(0)
    src, prev = random_tokens(d, 2, 9, g), random_tokens(d, 2, 7, g)
    reference, _ = model.eval()(src, None, prev)
    half = model.to(dtype)
    out, _ = half.train()(src, None, prev)
    assert out.dtype == dtype and torch.isfinite(out.float()).all()
    out.float().logsumexp(-1).sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad.float()).all() for p in half.parameters())
    half.eval()
    with torch.no_grad():
        full, _ = half(src, None, prev)
        encoder_out = half.encoder(src)
        state, steps = {}, []
        for t in range(prev.size(1)):
            step, _ = half.decoder(prev[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
            steps.append(step)
    step_logits = torch.cat(steps, dim=1).float()
    tol = 0.1 if dtype == torch.bfloat16 else 0.02
    torch.testing.assert_close(step_logits, full.float(), atol=tol, rtol=tol)
    # and the half-precision model still computes the float32 model's function, at half precision
    torch.testing.assert_close(full.float(), reference.detach(), atol=5 * tol, rtol=5 * tol)
