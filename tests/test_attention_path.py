"""lite_fairseq.modules.attention_path: sending fairseq's MultiheadAttention down its step-by-step path (the one that
calls its projections as modules), for good or only while needed, each module keeping its own setting."""

import pytest
import torch
from fairseq.modules import MultiheadAttention

from lite_fairseq.modules import module_path, use_module_path


def _attention():
    torch.manual_seed(0)
    return MultiheadAttention(8, 2, self_attention=True).eval()


def _calls_projection_modules(mha) -> bool:
    seen = []
    handle = mha.q_proj.register_forward_hook(lambda *args: seen.append(True))
    x = torch.randn(5, 2, 8)
    try:
        mha(query=x, key=x, value=x)
    finally:
        handle.remove()
    return bool(seen)


def test_fused_path_by_default_step_by_step_path_inside_module_path_and_after_use_module_path():
    mha = _attention()
    assert not _calls_projection_modules(mha)  # fairseq hands the weights to torch's fused attention
    with module_path([mha]):
        assert _calls_projection_modules(mha)
    assert not _calls_projection_modules(mha)
    assert use_module_path(mha) is mha
    assert _calls_projection_modules(mha)


def test_module_path_gives_each_module_its_own_setting_back_even_after_an_error():
    routed, plain = use_module_path(_attention()), _attention()
    with pytest.raises(RuntimeError, match="boom"):
        with module_path([routed, plain]):
            assert routed.skip_embed_dim_check and plain.skip_embed_dim_check
            raise RuntimeError("boom")
    assert routed.skip_embed_dim_check is True
    assert plain.skip_embed_dim_check is False


def test_both_paths_compute_the_same_attention():
    mha = _attention()
    x = torch.randn(5, 2, 8)
    fused, _ = mha(query=x, key=x, value=x)
    with module_path([mha]):
        stepwise, _ = mha(query=x, key=x, value=x)
    torch.testing.assert_close(stepwise, fused, rtol=1e-5, atol=1e-6)
