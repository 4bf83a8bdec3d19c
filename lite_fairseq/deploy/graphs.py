"""Export-friendly programs built from a :class:`~lite_fairseq.deploy.spec.ModelSpec`: the encoder and ONE
decoder step, with the decoder state as explicit tensors in and out (blocks: :mod:`lite_fairseq.deploy.layers`).

Nothing here is traced from fairseq's dict-based incremental state. The step keeps

* per convolution branch the last ``K - 1`` inputs of the convolution, channels first
  (``batch x heads x head_dim x (K-1)``, zeros at the start of a sentence, exactly the causal zero padding of the
  full-sequence convolution),
* per self-attention branch the keys and values of the positions decoded so far, one row per batch row and head:
  keys ``batch*heads x head_dim x t`` (transposed), values ``batch*heads x t x head_dim``, where ``t`` (the
  manifest's ``"tgt_len"``) is the step: empty at the start, one position longer after each step,

while the encoder program returns each decoder layer's encoder-decoder keys and values (batch 1; the step
broadcasts them over the beam rows, so they never need reordering). Inputs are batch-first, so a beam search
reorders every state tensor by viewing it as ``batch x -1`` and taking its rows; inside the step the activations
are ``batch x channels``.

``as_matmul`` (what the ONNX export uses) writes the linear layers as ``MatMul`` + ``Add``, see
:class:`~lite_fairseq.deploy.layers.Dense`.
"""

from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from . import spec as S
from .layers import Attention, Convolution, Dense, Layer, columns, norm
from .runtime import TGT_LEN, state_size


def state_layout(decoder: S.Side) -> List[Tuple[str, Tuple]]:
    """Names and shapes of the decoder state tensors, in program order. Symbolic dims: ``"batch"``, ``"batch*N"``
    (N rows per batch row: one per head) and ``"tgt_len"`` (the positions decoded, 0 at the first step)."""
    layout = []
    for i, layer in enumerate(decoder.layers):
        for j, b in enumerate(layer.branches):
            if isinstance(b, S.AttentionBranch):
                rows = f"batch*{b.heads}"
                layout += [(f"l{i}_b{j}_keys", (rows, b.head_dim, TGT_LEN)),
                           (f"l{i}_b{j}_values", (rows, TGT_LEN, b.head_dim))]
            elif b.kernel_size > 1:
                layout.append((f"l{i}_b{j}_conv", ("batch", b.heads, b.dim // b.heads, b.kernel_size - 1)))
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
    """src_tokens (1 x src_len, ending with EOS) -> each decoder layer's encoder-decoder keys and values (all of
    them from one product over the encoder output)."""

    def __init__(self, model: S.ModelSpec, as_matmul: bool = False):
        super().__init__()
        side = model.encoder
        self.embed, positions = _embed(side)
        self.register_buffer("positions", positions)
        self.scale = side.embed_scale
        self.embed_norm = norm(side.embed_norm) if side.embed_norm is not None else None
        self.layers = nn.ModuleList(Layer(layer, as_matmul) for layer in side.layers)
        self.final_norm = norm(side.final_norm) if side.final_norm is not None else None
        crosses = [layer.cross for layer in model.decoder.layers]
        self.cross_kv = Dense([p for c in crosses for p in (c.k, c.v)], as_matmul)
        self.cross_shapes = [(c.dim, c.heads, c.head_dim) for c in crosses for _ in "kv"]

    def forward(self, src_tokens: Tensor) -> Tuple[Tensor, ...]:
        x = self.scale * self.embed(src_tokens) + self.positions[: src_tokens.size(1)].unsqueeze(0)
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        for layer in self.layers:
            x = layer(x)
        if self.final_norm is not None:
            x = self.final_norm(x)
        parts = columns(self.cross_kv(x), [dim for dim, _, _ in self.cross_shapes])
        return tuple(part.reshape(1, x.size(1), heads, head_dim).transpose(1, 2)
                     for part, (_, heads, head_dim) in zip(parts, self.cross_shapes))


class DecoderStepProgram(nn.Module):
    """(tokens batch x 1, step [1], cross keys/values, state...) -> (log-probs batch x vocab, new state...).

    ``delegated_softmax`` (ExecuTorch int8) writes every softmax in a form XNNPACK runs: the log-probabilities as
    ``log(softmax(x))``, not ``log_softmax``, and the dynamic convolution's kernel softmax over the last dimension.
    ExecuTorch's own kernels for them, run after an int8 XNNPACK product, were slow on an AMX CPU: ``log_softmax``
    took 1.2 ms of a 1.9 ms WMT-200 step (0.04 ms after a float32 product), the six kernel softmaxes 0.5 of 1.2 ms at
    batch 4. Float32 programs keep the forms that have matched fairseq on every test sentence; a probability below
    float32's range becomes ``-inf`` here, which the search never picks."""

    def __init__(self, model: S.ModelSpec, max_len: int, as_matmul: bool = False, delegated_softmax: bool = False):
        super().__init__()
        side = model.decoder
        self.delegated_softmax = delegated_softmax
        self.embed, positions = _embed(side)
        self.register_buffer("positions", positions[:max_len])
        self.scale = side.embed_scale
        self.embed_norm = norm(side.embed_norm) if side.embed_norm is not None else None
        self.layers = nn.ModuleList(Layer(layer, as_matmul) for layer in side.layers)
        for layer in self.layers:
            for branch in layer.branches:
                if isinstance(branch, Convolution):
                    branch.softmax_last_dim = delegated_softmax
        self.final_norm = norm(side.final_norm) if side.final_norm is not None else None
        self.output = Dense([S.Linear(model.output)], as_matmul)

    @staticmethod
    def _mix_step(layer: Layer, x: Tensor, states: List[Tensor], new: List[Tensor]):
        outs = []
        for branch, part in zip(layer.branches, columns(x, layer.widths)):
            if isinstance(branch, Attention):
                out, keys, values = branch.step(part, states.pop(0), states.pop(0))
                new += [keys, values]
            else:
                out, state = branch.step(part, states.pop(0) if branch.K > 1 else None)
                new += [state] if state is not None else []
            outs.append(out)
        return layer.join(outs)

    def forward(self, tokens: Tensor, step: Tensor, cross: List[Tensor], states: List[Tensor]):
        states = list(states)
        new: List[Tensor] = []
        x = self.scale * self.embed(tokens.reshape(-1)) + self.positions.index_select(0, step)  # batch x dim
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        for i, layer in enumerate(self.layers):
            x = layer.residual(x, layer.mix_norm, lambda h, layer=layer: self._mix_step(layer, h, states, new))
            x = layer.residual(x, layer.cross_norm, layer.cross.cross_step, cross[2 * i], cross[2 * i + 1])
            x = layer.residual(x, layer.ffn_norm, layer.ffn)
        if self.final_norm is not None:
            x = self.final_norm(x)
        logits = self.output(x)
        if self.delegated_softmax:
            return (torch.log(F.softmax(logits, dim=-1)),) + tuple(new)
        return (F.log_softmax(logits, dim=-1),) + tuple(new)


def example_inputs(model: S.ModelSpec, batch: int = 2, src_len: int = 5, tgt_len: int = 2):
    """Inputs of the two programs at a representative size (batch, source and target lengths are dynamic; sizes
    of 0 and 1 would be specialised by torch.export)."""
    src = torch.full((1, src_len), model.encoder.padding_idx + 1, dtype=torch.long)
    cross = [torch.zeros(tuple(src_len if d == "src_len" else d for d in shape)) for _, shape in
             cross_layout(model.decoder)]
    states = [torch.zeros(tuple(state_size(d, batch, tgt_len) for d in shape)) for _, shape in
              state_layout(model.decoder)]
    tokens = torch.full((batch, 1), model.decoder.padding_idx + 1, dtype=torch.long)
    return (src,), (tokens, torch.tensor([0], dtype=torch.long), cross, states)

