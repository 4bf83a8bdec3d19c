"""Long-Short Range Attention (LSRA) and its convolution branch.

The layer's channels are split between attention branches (long range: fairseq's ``MultiheadAttention``) and
convolution branches (short range: :class:`ConvBranch`, Linear (+GLU) -> lightweight or dynamic convolution ->
Linear); each branch sees only its slice and the outputs are concatenated back to full width. Read next:
:mod:`.convolution` (the lightweight and dynamic convolutions, with their incremental state).
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.modules import MultiheadAttention
from torch import Tensor

from .config import BranchSpec, LayerConfig
from .convolution import DynamicConvTBC, LightweightConvTBC
from .dropout import attention_dropout_path, use_plugin_dropout
from .fast_step import FusedQKV, linear_rows, self_attention_rows, self_attention_step, use_fast_step

CONV_CLASSES = {"lightweight": LightweightConvTBC, "dynamic": DynamicConvTBC}


def conv_padding(kernel_size: int, causal: bool) -> int:
    """Left padding: K-1 for a causal (decoder) convolution, centred otherwise (one more tap on the right for
    even K)."""
    return kernel_size - 1 if causal else (kernel_size - 1) // 2


def rowwise(linear: nn.Module, x: Tensor) -> Tensor:
    """``linear`` over the rows of ``x`` (``... x C``) as one 2-D product: a branch's slice of the layer's channels
    is not contiguous, and a 3-D strided input makes ``F.linear`` run a matrix product and a separate bias add
    instead of one fused ``addmm``."""
    return linear(x.reshape(-1, x.size(-1))).view(*x.shape[:-1], -1)


class ConvBranch(nn.Module):
    """The convolution branch over ``spec.dim`` channels, with the layer's convolution settings from ``cfg``."""

    def __init__(self, cfg: LayerConfig, spec: BranchSpec):
        super().__init__()
        conv_cls = CONV_CLASSES.get(spec.kind)
        if conv_cls is None:
            raise ValueError(f"unknown convolution type {spec.kind!r}; choose one of {', '.join(CONV_CLASSES)}")
        dim = spec.dim
        kernel_size = spec.kernel_size or cfg.kernel_size
        self.glu = cfg.glu
        self.mask_before_linear = cfg.conv_mask_before_linear
        self.linear1 = nn.Linear(dim, 2 * dim if cfg.glu else dim)
        self.conv = conv_cls(dim, kernel_size, conv_padding(kernel_size, cfg.causal), spec.heads,
                             weight_softmax=cfg.weight_softmax, weight_dropout=cfg.weight_dropout,
                             backend=cfg.conv_backend)
        self.linear2 = nn.Linear(dim, dim)
        for linear in (self.linear1, self.linear2):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.constant_(linear.bias, 0.0)

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None, incremental_state=None) -> Tensor:
        """x: T x B x C; padding_mask: B x T, True at padded positions.

        Padded positions are zeroed after the input projection, so they read as exact zeros like the convolution's
        own padding and never change real positions. ``mask_before_linear`` zeroes them before it instead (the
        authors' code, where padding enters the convolution as the projection's bias): only for converted
        checkpoints that must reproduce the authors' outputs on padded batches."""
        mask = None if padding_mask is None else padding_mask.transpose(0, 1).unsqueeze(2)
        if mask is not None and self.mask_before_linear:
            x = x.masked_fill(mask, 0.0)
        x = rowwise(self.linear1, x)
        if self.glu:
            x = F.glu(x, dim=-1)
        if mask is not None and not self.mask_before_linear:
            x = x.masked_fill(mask, 0.0)
        x = self.conv(x, incremental_state=incremental_state)
        return self.linear2(x)

    def decode_step(self, x: Tensor, incremental_state) -> Tensor:
        """One decoding step at inference on the new token's rows (``B x C``, any strides; no padding in a step):
        the same arithmetic as :meth:`forward`, with 2-D products and the convolution's own incremental state."""
        x = linear_rows(self.linear1, x)
        if self.glu:
            x = F.glu(x, dim=-1)
        return linear_rows(self.linear2, self.conv.step_rows(x, incremental_state))


class LongShortRangeAttention(nn.Module):
    def __init__(self, cfg: LayerConfig):
        super().__init__()
        self.embed_dim = cfg.embed_dim
        self.specs: List[BranchSpec] = list(cfg.branch_specs)
        self.branches = nn.ModuleList()
        for spec in self.specs:
            if spec.is_attention:
                branch = use_plugin_dropout(MultiheadAttention(spec.dim, spec.heads, dropout=cfg.attention_dropout,
                                                               self_attention=True))
            else:
                branch = ConvBranch(cfg, spec)
            self.branches.append(branch)
        # inference fast path of the attention branches' decoding steps (see .fast_step); not module state
        self.fused_qkv = [FusedQKV() for _ in self.specs]

    def forward(self, x: Tensor, key_padding_mask: Optional[Tensor] = None, incremental_state=None,
                attn_mask: Optional[Tensor] = None, need_weights: bool = False
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """x: T x B x C. Returns the output (T x B x C) and the first attention branch's weights (if asked)."""
        outputs = []
        attn: Optional[Tensor] = None
        start = 0
        for spec, branch, fused in zip(self.specs, self.branches, self.fused_qkv):
            part = x[..., start:start + spec.dim]
            start += spec.dim
            if spec.is_attention and use_fast_step(branch, part, incremental_state, key_padding_mask, attn_mask,
                                                   need_weights):
                out = self_attention_step(branch, fused, part, incremental_state)
            elif spec.is_attention:
                with attention_dropout_path(branch, part):
                    out, weights = branch(query=part, key=part, value=part, key_padding_mask=key_padding_mask,
                                          incremental_state=incremental_state, need_weights=need_weights,
                                          attn_mask=attn_mask)
                if attn is None:
                    attn = weights
            else:
                out = branch(part, padding_mask=key_padding_mask, incremental_state=incremental_state)
            outputs.append(out)
        return torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0], attn

    def decode_step(self, x: Tensor, incremental_state) -> Tensor:
        """One decoding step at inference, without masks: ``x`` is the new token's rows (``B x C``), returns
        ``B x C``. Each branch reads and updates its own part of fairseq's incremental state, as in :meth:`forward`
        (the two kinds of step can follow each other); an attention branch the fast path does not cover runs
        fairseq's module."""
        outputs = []
        start = 0
        for spec, branch, fused in zip(self.specs, self.branches, self.fused_qkv):
            part = x[:, start:start + spec.dim]
            start += spec.dim
            if not spec.is_attention:
                out = branch.decode_step(part, incremental_state)
            else:
                step = part.unsqueeze(0)
                if use_fast_step(branch, step, incremental_state, None, None, False):
                    out = self_attention_rows(branch, fused, part, incremental_state)
                else:
                    out = branch(query=step, key=step, value=step, incremental_state=incremental_state,
                                 need_weights=False)[0][0]
            outputs.append(out)
        return torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]
