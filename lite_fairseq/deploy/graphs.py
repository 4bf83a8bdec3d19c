"""Export-friendly programs built from a :class:`~lite_fairseq.deploy.spec.ModelSpec`: the encoder and ONE
decoder step, with the decoder state as explicit tensors in and out.

Nothing here is traced from fairseq's dict-based incremental state. The step keeps

* per convolution branch the last ``K - 1`` inputs of the convolution (``batch x (K-1) x dim``, zeros at the start
  of a sentence, exactly the causal zero padding of the full-sequence convolution),
* per self-attention branch the keys and values in a static cache ``batch x heads x max_len x head_dim`` written at
  ``step`` and masked beyond it (the ExecuTorch LLM examples' layout),

while the encoder program returns each decoder layer's encoder-decoder keys and values (batch 1; the step
broadcasts them over the beam rows, so they never need reordering). Inputs are batch-first.
"""

from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from . import spec as S


def _linear(spec: S.Linear) -> nn.Linear:
    out_dim, in_dim = spec.weight.shape
    layer = nn.Linear(in_dim, out_dim, bias=spec.bias is not None)
    with torch.no_grad():
        layer.weight.copy_(spec.weight)
        if spec.bias is not None:
            layer.bias.copy_(spec.bias)
    return layer


def _norm(spec: S.Norm) -> nn.LayerNorm:
    layer = nn.LayerNorm(spec.weight.numel(), eps=spec.eps)
    with torch.no_grad():
        layer.weight.copy_(spec.weight)
        layer.bias.copy_(spec.bias)
    return layer


def _activate(x: Tensor, name: str) -> Tensor:
    if name == "relu":
        return F.relu(x)
    if name == "gelu":
        return F.gelu(x)
    if name in ("gelu_accurate", "gelu_fast"):
        return F.gelu(x, approximate="tanh")
    if name == "tanh":
        return torch.tanh(x)
    if name == "swish":
        return F.silu(x)
    return x  # "linear"


class Attention(nn.Module):
    def __init__(self, spec: S.AttentionBranch):
        super().__init__()
        self.heads, self.head_dim = spec.heads, spec.head_dim
        self.scaling = spec.head_dim ** -0.5
        self.q, self.k, self.v, self.out = (_linear(p) for p in (spec.q, spec.k, spec.v, spec.out))

    def split(self, x: Tensor) -> Tensor:
        """batch x time x dim -> batch x heads x time x head_dim"""
        return x.view(x.size(0), x.size(1), self.heads, self.head_dim).transpose(1, 2)

    def keys_values(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        return self.split(self.k(x)), self.split(self.v(x))

    def attend(self, x: Tensor, keys: Tensor, values: Tensor, mask=None) -> Tensor:
        q = self.split(self.q(x) * self.scaling)
        scores = torch.matmul(q, keys.transpose(2, 3))
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        probs = F.softmax(scores.float(), dim=-1).type_as(scores)
        ctx = torch.matmul(probs, values).transpose(1, 2)
        return self.out(ctx.reshape(x.size(0), x.size(1), self.heads * self.head_dim))

    def forward(self, x: Tensor) -> Tensor:
        keys, values = self.keys_values(x)
        return self.attend(x, keys, values)

    def step(self, x: Tensor, step: Tensor, keys: Tensor, values: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One new position: write its key and value at ``step`` of the static caches, attend to 0..step."""
        k_new, v_new = self.keys_values(x)
        slots = torch.arange(keys.size(2), device=x.device)
        here = (slots == step).view(1, 1, -1, 1)
        keys = torch.where(here, k_new, keys)
        values = torch.where(here, v_new, values)
        future = (slots > step).view(1, 1, 1, -1)
        return self.attend(x, keys, values, future), keys, values


class Convolution(nn.Module):
    """Linear (+GLU) -> lightweight/dynamic depthwise convolution -> Linear, as a sum over the K taps."""

    def __init__(self, spec: S.ConvBranch):
        super().__init__()
        self.kind, self.heads, self.K, self.padding_l = spec.kind, spec.heads, spec.kernel_size, spec.padding_l
        self.glu, self.weight_softmax, self.dim = spec.glu, spec.weight_softmax, spec.dim
        self.linear1, self.linear2 = _linear(spec.linear1), _linear(spec.linear2)
        if spec.kind == "lightweight":
            self.register_buffer("taps", spec.taps.clone())
            self.predictor = None
        else:
            self.predictor = _linear(spec.predictor)

    def project(self, x: Tensor) -> Tensor:
        h = self.linear1(x)
        return F.glu(h, dim=-1) if self.glu else h

    def kernel(self, h: Tensor) -> Tensor:
        """batch x time x heads x K (lightweight: 1 x 1 x heads x K)."""
        if self.predictor is None:
            logits = self.taps.view(1, 1, self.heads, self.K)
        else:
            logits = self.predictor(h).view(h.size(0), h.size(1), self.heads, self.K)
        return F.softmax(logits.float(), dim=-1).type_as(logits) if self.weight_softmax else logits

    def forward(self, x: Tensor) -> Tensor:
        h = self.project(x)
        B, T, C = h.shape
        w = self.kernel(h)
        padded = F.pad(h, (0, 0, self.padding_l, self.K - 1 - self.padding_l))
        padded = padded.view(B, T + self.K - 1, self.heads, C // self.heads)
        out = padded[:, 0:T] * w[..., 0:1]
        for k in range(1, self.K):
            out = out + padded[:, k:k + T] * w[..., k:k + 1]
        return self.linear2(out.reshape(B, T, C))

    def step(self, x: Tensor, previous: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """x: batch x 1 x dim; previous: [] for K = 1, else [batch x (K-1) x dim], the last K-1 inputs."""
        h = self.project(x)
        B = h.size(0)
        window = torch.cat([previous[0], h], dim=1) if previous else h  # batch x K x dim
        w = self.kernel(h).view(-1, self.heads, self.K).transpose(1, 2).unsqueeze(-1)  # (1|B) x K x heads x 1
        out = (window.view(B, self.K, self.heads, self.dim // self.heads) * w).sum(dim=1)
        state = [window[:, 1:]] if previous else []
        return self.linear2(out.reshape(B, 1, self.dim)), state


def _branch(spec: S.Branch) -> nn.Module:
    return Attention(spec) if isinstance(spec, S.AttentionBranch) else Convolution(spec)


class Layer(nn.Module):
    def __init__(self, spec: S.Layer):
        super().__init__()
        self.widths = [b.dim for b in spec.branches]
        self.branches = nn.ModuleList(_branch(b) for b in spec.branches)
        self.mix_norm, self.ffn_norm = _norm(spec.mix_norm), _norm(spec.ffn_norm)
        self.fc1, self.fc2 = _linear(spec.fc1), _linear(spec.fc2)
        self.activation, self.pre = spec.activation, spec.normalize_before
        self.cross = Attention(spec.cross) if spec.cross is not None else None
        self.cross_norm = _norm(spec.cross_norm) if spec.cross_norm is not None else None

    def residual(self, x: Tensor, norm: nn.Module, fn, *args):
        y = fn(norm(x) if self.pre else x, *args)
        return x + y if self.pre else norm(x + y)

    def ffn(self, x: Tensor) -> Tensor:
        return self.fc2(_activate(self.fc1(x), self.activation))

    def split(self, x: Tensor) -> List[Tensor]:
        """The branches' channel slices (slicing, not torch.split: ExecuTorch 1.5's edge verifier specialises the
        batch dimension of a list-returning op)."""
        starts = [sum(self.widths[:j]) for j in range(len(self.widths))]
        return [x[..., a:a + w] for a, w in zip(starts, self.widths)]

    def mix(self, x: Tensor) -> Tensor:
        parts = self.split(x)
        outs = [branch(part) for branch, part in zip(self.branches, parts)]
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(self.residual(x, self.mix_norm, self.mix), self.ffn_norm, self.ffn)


def state_layout(decoder: S.Side, max_len: int) -> List[Tuple[str, Tuple]]:
    """Names and shapes (``"batch"`` for the batch dim) of the decoder state tensors, in program order."""
    layout = []
    for i, layer in enumerate(decoder.layers):
        for j, b in enumerate(layer.branches):
            if isinstance(b, S.AttentionBranch):
                shape = ("batch", b.heads, max_len, b.head_dim)
                layout += [(f"l{i}_b{j}_keys", shape), (f"l{i}_b{j}_values", shape)]
            elif b.kernel_size > 1:
                layout.append((f"l{i}_b{j}_conv", ("batch", b.kernel_size - 1, b.dim)))
    return layout


def cross_layout(decoder: S.Side) -> List[Tuple[str, Tuple]]:
    layout = []
    for i, layer in enumerate(decoder.layers):
        shape = (1, layer.cross.heads, "src_len", layer.cross.head_dim)
        layout += [(f"l{i}_cross_keys", shape), (f"l{i}_cross_values", shape)]
    return layout


def _embed(side: S.Side) -> Tuple[nn.Embedding, Tensor]:
    embed = nn.Embedding(side.embed.size(0), side.dim)
    with torch.no_grad():
        embed.weight.copy_(side.embed)
    positions = side.positions if side.positions is not None else torch.zeros(side.max_positions, side.dim)
    return embed, positions.clone()


class EncoderProgram(nn.Module):
    """src_tokens (1 x src_len, ending with EOS) -> each decoder layer's encoder-decoder keys and values."""

    def __init__(self, model: S.ModelSpec):
        super().__init__()
        side = model.encoder
        self.embed, positions = _embed(side)
        self.register_buffer("positions", positions)
        self.scale = side.embed_scale
        self.embed_norm = _norm(side.embed_norm) if side.embed_norm is not None else None
        self.layers = nn.ModuleList(Layer(layer) for layer in side.layers)
        self.final_norm = _norm(side.final_norm) if side.final_norm is not None else None
        self.cross = nn.ModuleList(Attention(layer.cross) for layer in model.decoder.layers)

    def forward(self, src_tokens: Tensor) -> Tuple[Tensor, ...]:
        x = self.scale * self.embed(src_tokens) + self.positions[: src_tokens.size(1)].unsqueeze(0)
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        for layer in self.layers:
            x = layer(x)
        if self.final_norm is not None:
            x = self.final_norm(x)
        outs: List[Tensor] = []
        for attention in self.cross:
            outs.extend(attention.keys_values(x))
        return tuple(outs)


class DecoderStepProgram(nn.Module):
    """(tokens batch x 1, step [1], cross keys/values, state...) -> (log-probs batch x vocab, new state...)."""

    def __init__(self, model: S.ModelSpec, max_len: int):
        super().__init__()
        side = model.decoder
        self.max_len = max_len
        self.embed, positions = _embed(side)
        self.register_buffer("positions", positions[:max_len])
        self.scale = side.embed_scale
        self.embed_norm = _norm(side.embed_norm) if side.embed_norm is not None else None
        self.layers = nn.ModuleList(Layer(layer) for layer in side.layers)
        self.final_norm = _norm(side.final_norm) if side.final_norm is not None else None
        self.output = nn.Linear(side.dim, model.output.size(0), bias=False)
        with torch.no_grad():
            self.output.weight.copy_(model.output)

    def _mix_step(self, layer: Layer, x: Tensor, step: Tensor, states: List[Tensor], new: List[Tensor]):
        parts = layer.split(x)
        outs = []
        for branch, part in zip(layer.branches, parts):
            if isinstance(branch, Attention):
                out, keys, values = branch.step(part, step, states.pop(0), states.pop(0))
                new += [keys, values]
            else:
                previous = [states.pop(0)] if branch.K > 1 else []
                out, state = branch.step(part, previous)
                new += state
            outs.append(out)
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def forward(self, tokens: Tensor, step: Tensor, cross: List[Tensor], states: List[Tensor]):
        states = list(states)
        new: List[Tensor] = []
        x = self.scale * self.embed(tokens) + self.positions.index_select(0, step).unsqueeze(0)
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        for i, layer in enumerate(self.layers):
            x = layer.residual(x, layer.mix_norm, lambda h, layer=layer: self._mix_step(layer, h, step, states, new))
            keys, values = cross[2 * i], cross[2 * i + 1]
            x = layer.residual(x, layer.cross_norm,
                               lambda h, layer=layer, keys=keys, values=values: layer.cross.attend(h, keys, values))
            x = layer.residual(x, layer.ffn_norm, layer.ffn)
        if self.final_norm is not None:
            x = self.final_norm(x)
        # on the 3-D activation the projection exports as a MatMul (on x[:, 0] it would be a Gemm, which
        # onnxruntime's dynamic quantisation leaves in float32: the largest matrix of the step)
        logits = self.output(x)[:, 0]
        return (F.log_softmax(logits.float(), dim=-1),) + tuple(new)


def example_inputs(model: S.ModelSpec, max_len: int, batch: int = 2, src_len: int = 5):
    """Inputs of the two programs at a representative size (batch and source length are dynamic)."""
    src = torch.full((1, src_len), model.encoder.padding_idx + 1, dtype=torch.long)
    cross = [torch.zeros(tuple(src_len if d == "src_len" else d for d in shape)) for _, shape in
             cross_layout(model.decoder)]
    states = [torch.zeros(tuple(batch if d == "batch" else d for d in shape)) for _, shape in
              state_layout(model.decoder, max_len)]
    tokens = torch.full((batch, 1), model.decoder.padding_idx + 1, dtype=torch.long)
    return (src,), (tokens, torch.tensor([0], dtype=torch.long), cross, states)

