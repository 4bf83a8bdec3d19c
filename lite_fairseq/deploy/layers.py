"""The building blocks of the export programs (:mod:`lite_fairseq.deploy.graphs`), built from
:mod:`lite_fairseq.deploy.spec` weights and shaped for a small exported graph:

* each attention branch projects its queries, keys and values with ONE matrix product (the three weight matrices
  concatenated here, at export time; the model's state dict is untouched), the encoder-decoder keys and values of
  every decoder layer come from one product over the encoder output,
* the decoder step works on 2-D activations (``batch x channels``: one position per row), so no reshape or
  transpose surrounds its projections and, with one position, splitting heads is a reshape,
* the step's convolution keeps its state channels-first (``batch x heads x head_dim x (K-1)``) and applies the K
  taps of each row as one batched matrix product (the window times the kernel), the lightweight kernel's softmax
  is computed here once,
* the self-attention caches hold only the positions decoded so far and grow by one per step (a concatenation),
  so a step reads and writes what its length needs, whatever the export's ``--max-target-len``, and nothing is
  masked (a cache of ``--max-target-len`` slots written in place and masked beyond the step cost the default
  ExecuTorch export 1.5x (batch 1) to 2.6x (batch 4) per step at WMT-200),
* for ExecuTorch the step is written for XNNPACK's partitioner, which lowers no reshape by a symbolic size and no
  broadcast ``matmul`` (ExecuTorch's portable kernels would then copy the caches at every step): the products are
  3-D ``bmm`` over ``batch*heads`` rows reshaped with -1, the caches are kept in that layout, and the beam's rows
  share the encoder's keys as the queries of one ``bmm`` per head.

``Dense`` writes a linear layer as ``MatMul`` + ``Add`` when ``as_matmul`` (ONNX: onnxruntime's dynamic int8
quantisation handles ``MatMul``, not ``Gemm``, and its optimiser fuses the bias into a ``Gemm`` in float32) and as
``linear`` otherwise (ExecuTorch: what XNNPACK's partitioner and quantiser recognise).
"""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from . import spec as S


class Dense(nn.Module):
    """The linear layers ``parts`` side by side (their outputs concatenated) as one product."""

    def __init__(self, parts: Sequence[S.Linear], as_matmul: bool):
        super().__init__()
        weight = torch.cat([p.weight for p in parts], dim=0)
        self.as_matmul = as_matmul
        self.weight = nn.Parameter(weight.t().contiguous() if as_matmul else weight, requires_grad=False)
        if all(p.bias is None for p in parts):
            self.bias = None
        else:  # a missing bias among present ones adds exact zeros
            self.bias = nn.Parameter(torch.cat([p.bias if p.bias is not None else torch.zeros(p.weight.size(0))
                                                for p in parts]), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        if not self.as_matmul:
            return F.linear(x, self.weight, self.bias)
        y = torch.matmul(x, self.weight)
        return y + self.bias if self.bias is not None else y


def norm(spec: S.Norm) -> nn.LayerNorm:
    layer = nn.LayerNorm(spec.weight.numel(), eps=spec.eps)
    with torch.no_grad():
        layer.weight.copy_(spec.weight)
        layer.bias.copy_(spec.bias)
    return layer


def activate(x: Tensor, name: str) -> Tensor:
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


def columns(x: Tensor, widths: Sequence[int]) -> List[Tensor]:
    """The last dimension cut into ``widths`` (slicing, not torch.split: ExecuTorch 1.5's edge verifier specialises
    the batch dimension of a list-returning op; onnxruntime merges the slices into one Split)."""
    starts = [sum(widths[:j]) for j in range(len(widths))]
    return [x[..., a:a + w] for a, w in zip(starts, widths)]


class Attention(nn.Module):
    """fairseq MultiheadAttention; ``parts`` chooses the projections built ("qkv" self, "q" / "kv" cross)."""

    def __init__(self, spec: S.AttentionBranch, as_matmul: bool, parts: str = "qkv"):
        super().__init__()
        self.dim, self.heads, self.head_dim = spec.dim, spec.heads, spec.head_dim
        self.scaling = spec.head_dim ** -0.5
        self.parts = parts
        self.project = Dense([getattr(spec, p) for p in parts], as_matmul)
        self.out = Dense([spec.out], as_matmul) if "q" in parts else None
        self.broadcast = as_matmul  # ONNX: broadcast MatMul in encoder-decoder attention (see cross_step)

    def heads_first(self, x: Tensor) -> Tensor:
        """batch x time x dim -> batch x heads x time x head_dim"""
        return x.reshape(x.size(0), x.size(1), self.heads, self.head_dim).transpose(1, 2)

    def attend(self, q: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        """q: batch x heads x time x head_dim (scaled) -> batch x heads x time x head_dim."""
        scores = torch.matmul(q, keys.transpose(2, 3))
        return torch.matmul(F.softmax(scores, dim=-1), values)

    def forward(self, x: Tensor) -> Tensor:
        """Full-sequence self-attention (the encoder): batch x time x dim."""
        q, k, v = columns(self.project(x), [self.dim] * 3)
        ctx = self.attend(self.heads_first(q * self.scaling), self.heads_first(k), self.heads_first(v))
        return self.out(ctx.transpose(1, 2).reshape(x.size(0), x.size(1), self.dim))

    def step(self, x: Tensor, keys: Tensor, values: Tensor):
        """One new position (x: batch x dim) after ``t`` decoded ones: its key and value are appended to the caches
        (keys ``batch*heads x head_dim x t``, transposed for the scores' product; values ``batch*heads x t x
        head_dim``), which hold exactly the positions decoded so far, so nothing is masked and a step costs what
        its length needs, not the export's ``--max-target-len``. Returns the output and the caches of ``t + 1``
        positions. The products are 3-D ``bmm`` over the batch*heads rows, reshaped with -1 (XNNPACK lowers
        neither a broadcast ``matmul`` nor a reshape by a symbolic size)."""
        H, hd = self.heads, self.head_dim
        qkv = self.project(x).reshape(-1, 3 * H, hd)
        q, k, v = qkv[:, :H], qkv[:, H:2 * H], qkv[:, 2 * H:]
        keys = torch.cat([keys, k.reshape(-1, hd, 1)], dim=2)
        values = torch.cat([values, v.reshape(-1, 1, hd)], dim=1)
        scores = torch.bmm((q * self.scaling).reshape(-1, 1, hd), keys)
        ctx = torch.bmm(F.softmax(scores, dim=-1), values)
        return self.out(ctx.reshape(-1, self.dim)), keys, values

    def cross_step(self, x: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        """Encoder-decoder attention of one position (x: batch x dim; keys, values: 1 x heads x src x head_dim).
        ExecuTorch: the batch rows are the queries of one ``bmm`` per head (heads x batch x head_dim), so the
        encoder's keys and values are read once, not copied for every row."""
        H, hd = self.heads, self.head_dim
        if self.broadcast:
            q = self.project(x).reshape(x.size(0), H, 1, hd) * self.scaling
            return self.out(self.attend(q, keys, values).reshape(x.size(0), self.dim))
        q = (self.project(x) * self.scaling).reshape(-1, H, hd).transpose(0, 1)
        scores = torch.bmm(q, keys.reshape(H, -1, hd).transpose(1, 2))
        ctx = torch.bmm(F.softmax(scores, dim=-1), values.reshape(H, -1, hd))
        return self.out(ctx.transpose(0, 1).reshape(-1, self.dim))


class Convolution(nn.Module):
    """Linear (+GLU) -> lightweight/dynamic depthwise convolution -> Linear."""

    def __init__(self, spec: S.ConvBranch, as_matmul: bool):
        super().__init__()
        self.kind, self.heads, self.K, self.padding_l = spec.kind, spec.heads, spec.kernel_size, spec.padding_l
        self.glu, self.weight_softmax, self.dim = spec.glu, spec.weight_softmax, spec.dim
        self.head_dim, self.gather = spec.dim // spec.heads, as_matmul
        # ExecuTorch int8 (DecoderStepProgram): the kernel's softmax over the last dimension, which XNNPACK runs
        self.softmax_last_dim = False
        self.linear1, self.linear2 = Dense([spec.linear1], as_matmul), Dense([spec.linear2], as_matmul)
        if spec.kind == "lightweight":
            taps = spec.taps.float()
            self.register_buffer("taps", F.softmax(taps, dim=-1) if spec.weight_softmax else taps.clone())
            self.register_buffer("ones", torch.ones(1, spec.kernel_size))
            self.predictor = None
        else:
            self.predictor = Dense([spec.predictor], as_matmul)

    def project(self, x: Tensor) -> Tensor:
        h = self.linear1(x)
        if not self.glu:
            return h
        a, gate = columns(h, [self.dim, self.dim])
        return a * torch.sigmoid(gate)

    def kernel(self, h: Tensor) -> Tensor:
        """(batch x time | 1 x 1) x heads x K."""
        if self.predictor is None:
            return self.taps.view(1, 1, self.heads, self.K)
        logits = self.predictor(h).reshape(h.size(0), h.size(1), self.heads, self.K)
        return F.softmax(logits, dim=-1) if self.weight_softmax else logits

    def forward(self, x: Tensor) -> Tensor:
        """Full sequence (the encoder). ``gather``: the K shifted inputs of every position gathered into a window
        and multiplied by its kernel in one product; otherwise a sum over the K taps (ExecuTorch: no gather)."""
        h = self.project(x)
        B, T, C = h.shape
        w = self.kernel(h)
        padded = F.pad(h, (0, 0, self.padding_l, self.K - 1 - self.padding_l))
        if self.gather:
            index = torch.arange(T, device=h.device).unsqueeze(1) + torch.arange(self.K, device=h.device)
            window = padded[:, index].reshape(B, T, self.K, self.heads, self.head_dim).transpose(2, 3)
            out = torch.matmul(w.unsqueeze(3), window)  # batch x T x heads x 1 x head_dim
            return self.linear2(out.reshape(B, T, C))
        padded = padded.view(B, T + self.K - 1, self.heads, C // self.heads)
        out = padded[:, 0:T] * w[..., 0:1]
        for k in range(1, self.K):
            out = out + padded[:, k:k + T] * w[..., k:k + 1]
        return self.linear2(out.reshape(B, T, C))

    def step(self, x: Tensor, previous: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """x: batch x dim; previous: None for K = 1, else the last K-1 inputs, batch x heads x head_dim x (K-1).
        The K taps of each channel are one product (window times kernel)."""
        h = self.project(x)
        column = h.reshape(-1, self.heads, self.head_dim, 1)
        window = torch.cat([previous, column], dim=3) if previous is not None else column
        if self.predictor is None:
            w = self.taps.view(1, self.heads, self.K, 1)
        else:
            w = self.predictor(h).reshape(-1, self.heads, self.K, 1)
            if self.weight_softmax and self.softmax_last_dim:
                w = F.softmax(w.reshape(-1, self.heads, self.K), dim=-1).reshape(-1, self.heads, self.K, 1)
            elif self.weight_softmax:
                w = F.softmax(w, dim=2)
        if self.gather:  # ONNX: a broadcast MatMul (onnxruntime reads its operands in place)
            out = torch.matmul(window, w)
        elif self.predictor is None:  # ExecuTorch, lightweight: taps times window, summed by a product with ones
            out = F.linear((window * w.view(1, self.heads, 1, self.K)).reshape(-1, self.K), self.ones)
        else:  # ExecuTorch, dynamic: each row's kernel, no broadcast matmul (see Attention.step)
            out = torch.bmm(window.reshape(-1, self.head_dim, self.K), w.reshape(-1, self.K, 1))
        state = window[..., 1:] if previous is not None else None
        return self.linear2(out.reshape(-1, self.dim)), state


def branch(spec: S.Branch, as_matmul: bool) -> nn.Module:
    return Attention(spec, as_matmul) if isinstance(spec, S.AttentionBranch) else Convolution(spec, as_matmul)


class Layer(nn.Module):
    def __init__(self, spec: S.Layer, as_matmul: bool):
        super().__init__()
        self.widths = [b.dim for b in spec.branches]
        self.branches = nn.ModuleList(branch(b, as_matmul) for b in spec.branches)
        self.mix_norm, self.ffn_norm = norm(spec.mix_norm), norm(spec.ffn_norm)
        self.fc1, self.fc2 = Dense([spec.fc1], as_matmul), Dense([spec.fc2], as_matmul)
        self.activation, self.pre = spec.activation, spec.normalize_before
        self.cross = Attention(spec.cross, as_matmul, "q") if spec.cross is not None else None
        self.cross_norm = norm(spec.cross_norm) if spec.cross_norm is not None else None

    def residual(self, x: Tensor, norm_: nn.Module, fn, *args):
        y = fn(norm_(x) if self.pre else x, *args)
        return x + y if self.pre else norm_(x + y)

    def ffn(self, x: Tensor) -> Tensor:
        return self.fc2(activate(self.fc1(x), self.activation))

    def join(self, outs: List[Tensor]) -> Tensor:
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def mix(self, x: Tensor) -> Tensor:
        return self.join([b(part) for b, part in zip(self.branches, columns(x, self.widths))])

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(self.residual(x, self.mix_norm, self.mix), self.ffn_norm, self.ffn)
