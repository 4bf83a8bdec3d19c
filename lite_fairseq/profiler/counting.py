"""Count Mult-Adds and parameters of a fairseq model from an actual forward pass.

Counting convention (the paper's, Wu et al. ICLR 2020, Section 4 and Table 1-3):

* A translation model is counted translating one ``src_len``-token sentence into a ``tgt_len``-token sentence
  (30 and 30 by default, as in the paper); a decoder-only language model over ``tgt_len`` tokens. Batch size 1.
* One Mult-Add is one multiplication followed by one addition: a matrix product ``(m x k) @ (k x n)`` costs
  ``m*k*n`` Mult-Adds. Bias additions, normalisation, softmax, activations and residual additions are not counted.
* Embedding lookups (token and positional embeddings, including adaptive-input projections) and the final output
  projection onto the vocabulary (or adaptive softmax) are *excluded* from the total; both are still measured and
  reported on the side.
* Attention score and value products (``Q K^T`` and ``A V``) *are* included. In the default ``decoder_mode="full"``
  the decoder runs once over all ``tgt_len`` target tokens (teacher forcing), so its causal self-attention is
  counted over the full ``tgt_len x tgt_len`` score matrix, as the masked matrix product computes it. With
  ``decoder_mode="incremental"`` the decoder runs ``tgt_len`` single-token steps with its incremental state, as in
  generation: step ``t`` attends ``t`` positions (``tgt_len*(tgt_len+1)/2`` score entries instead of
  ``tgt_len**2``) and the encoder-decoder keys/values are projected once. Both totals are always reported;
  the paper's Transformer rows agree with ``full`` to 0.4% (``incremental`` undercounts them by up to 1.1%),
  its Lite Transformer rows with ``incremental`` to 0.6% (``full`` overcounts them by up to 1.4%); every row of
  the paper's tables is within 2% under either convention (see the profiler's README section).
* The depthwise (lightweight or dynamic) convolution costs ``K`` Mult-Adds per output element (``T x C x K``),
  zero-padded taps included; the kernel predictor of a dynamic convolution (``d/2 -> H*K`` linear map per step)
  is counted separately.

How: the model runs under a :class:`torch.utils._python_dispatch.TorchDispatchMode` that costs every matrix
product with the formulas of :mod:`torch.utils.flop_counter` (Mult-Adds = FLOPs / 2; its registry does not cover
the CPU fused attention kernel, which is costed with the same library's ``sdpa_flop_count``), while global module
hooks keep the stack of running modules, so each product is attributed to the module that ran it (attention
projection, attention product, convolution-branch linear, kernel predictor, FFN, encoder-decoder attention). The
depthwise convolution runs as shifted element-wise products that flop_counter does not see, so a forward hook on
the convolution module counts it from its output's shape (and any matrix product the convolution module runs
itself, e.g. fairseq's band-matrix implementation, is replaced by that count).
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from fairseq.modules import AdaptiveInput, AdaptiveSoftmax, DynamicConv1dTBC, LightweightConv1dTBC
from fairseq.modules import MultiheadAttention
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode

from lite_fairseq.modules import ConvBranch, DepthwiseConvTBC, fast_step

from .building import (LANGUAGE_MODELING, TRANSLATION, BuiltModel, ProfilerError, build, infer_task,
                       vocab_from_data_dir)

PAPER_SRC_LEN = 30
PAPER_TGT_LEN = 30
DECODER_MODES = ("full", "incremental")

# (key, label, included in the total)
PARTS: Tuple[Tuple[str, str, bool], ...] = (
    ("attn_proj", "self-attention projections (q, k, v, out)", True),
    ("attn_products", "self-attention score/value products", True),
    ("conv_linears", "convolution-branch linears", True),
    ("kernel_predictor", "dynamic-conv kernel predictor", True),
    ("conv", "depthwise convolution", True),
    ("ffn", "FFN", True),
    ("encdec_attn_proj", "enc-dec attention projections", True),
    ("encdec_attn_products", "enc-dec attention score/value products", True),
    ("other", "other matrix products", True),
    ("embeddings", "embedding projections (excluded)", False),
    ("output_projection", "output projection (excluded)", False),
)
INCLUDED_PARTS = tuple(k for k, _, inc in PARTS if inc)
EXCLUDED_PARTS = tuple(k for k, _, inc in PARTS if not inc)
SIDES = ("encoder", "decoder")

CONV_MODULES = (DepthwiseConvTBC, LightweightConv1dTBC, DynamicConv1dTBC)


def _aten_packets(*names):
    return {getattr(torch.ops.aten, n) for n in names if hasattr(torch.ops.aten, n)}


# fused attention kernels that torch.utils.flop_counter has no formula for (the CPU ones)
_SDPA_FALLBACK = _aten_packets("_scaled_dot_product_flash_attention_for_cpu",
                               "_scaled_dot_product_fused_attention_overrideable")
_PRODUCT_OPS = _aten_packets("bmm", "baddbmm") | _SDPA_FALLBACK | {
    p for p in flop_counter.flop_registry if "scaled_dot_product" in str(p)}


def op_macs(func, args, kwargs, out) -> int:
    """Mult-Adds of one aten op (0 for ops that are not matrix products or convolutions)."""
    packet = func._overloadpacket
    if packet in flop_counter.flop_registry:
        flops = flop_counter.flop_registry[packet](*args, **kwargs, out_val=out)
    elif packet in _SDPA_FALLBACK:
        q, k, v = args[:3]
        flops = flop_counter.sdpa_flop_count(q.shape, k.shape, v.shape)
    else:
        return 0
    return int(flops) // 2


class MacCounter(TorchDispatchMode):
    """Costs matrix products and attributes them to the innermost running module; a context manager over any
    module's forward (``with MacCounter(module): module(x)``, then ``.macs[side][part]``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.names = {m: n for n, m in model.named_modules(remove_duplicate=False)}
        encoder = getattr(model, "encoder", None)
        decoder = getattr(model, "decoder", None)
        # the side of a product: the innermost running module that belongs to only one side, else the part of
        # the model being driven (decoder.extract_features runs outside the decoder's own forward)
        self.sides: Dict[nn.Module, str] = {}
        for side, sub in (("encoder", encoder), ("decoder", decoder)):
            if isinstance(sub, nn.Module):
                for m in sub.modules():
                    self.sides[m] = "both" if self.sides.get(m, side) != side else side
        self.sides = {m: s for m, s in self.sides.items() if s != "both"}
        self.current_side = "other"
        self.output_modules = set()
        if decoder is not None:
            for attr in ("output_projection", "adaptive_softmax"):
                mod = getattr(decoder, attr, None)
                if isinstance(mod, nn.Module):
                    self.output_modules.add(mod)
        self.stack: List[nn.Module] = []
        self.macs: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.force_part: Optional[str] = None  # set while the output layer runs

    # module stack ---------------------------------------------------------------------------------------------
    def _pre(self, module, inputs):
        self.stack.append(module)

    def _post(self, module, inputs, output):
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        if isinstance(module, CONV_MODULES) and isinstance(output, torch.Tensor):
            self._add(self.stack + [module], "conv", output.numel() * int(module.kernel_size))

    def __enter__(self):
        self._hooks = [register_module_forward_pre_hook(self._pre),
                       register_module_forward_hook(self._post, always_call=True)]
        return super().__enter__()

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        self.stack.clear()
        return super().__exit__(*exc)

    # attribution ----------------------------------------------------------------------------------------------
    def _side(self, stack) -> str:
        for m in reversed(stack):
            if m in self.sides:
                return self.sides[m]
        return self.current_side

    def _add(self, stack, part, macs):
        if macs:
            self.macs[self._side(stack)][self.force_part or part] += macs

    def _attr_name(self, module) -> str:
        return self.names.get(module, "").rsplit(".", 1)[-1]

    def classify(self, stack: Sequence[nn.Module], packet) -> Optional[str]:
        """The part a matrix product belongs to, or None when a hook counts it instead."""
        if any(isinstance(m, (AdaptiveInput, nn.Embedding)) for m in stack):
            return "embeddings"
        if any(m in self.output_modules or isinstance(m, AdaptiveSoftmax) for m in stack):
            return "output_projection"
        leaf = stack[-1] if stack else None
        if isinstance(leaf, CONV_MODULES):
            return None  # the convolution itself: counted from its output by the forward hook
        if len(stack) >= 2 and isinstance(stack[-2], CONV_MODULES):
            return "kernel_predictor"
        for m in reversed(stack):
            if isinstance(m, MultiheadAttention):
                products = packet in _PRODUCT_OPS
                if m.encoder_decoder_attention:
                    return "encdec_attn_products" if products else "encdec_attn_proj"
                return "attn_products" if products else "attn_proj"
        if isinstance(leaf, nn.Linear):
            name = self._attr_name(leaf)
            if any(isinstance(m, ConvBranch) for m in stack) or name in ("linear1", "linear2"):
                return "conv_linears"
            if name in ("fc1", "fc2"):
                return "ffn"
        return "other"

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        macs = op_macs(func, args, kwargs, out)
        if macs:
            part = self.classify(self.stack, func._overloadpacket)
            if part is not None:
                self._add(self.stack, part, macs)
        return out


@dataclass
class ProfileResult:
    arch: str
    task: str
    src_len: Optional[int]
    tgt_len: int
    src_vocab: Optional[int]
    tgt_vocab: int
    decoder_mode: str
    macs: int
    macs_full: int
    macs_incremental: int
    macs_by_part: Dict[str, Dict[str, int]]  # side -> part -> Mult-Adds (decoder_mode), excluded parts too
    macs_encoder: int
    macs_decoder: int
    macs_excluded: Dict[str, int]  # embeddings / output_projection
    params: int
    params_embeddings: int
    params_output_projection: int
    params_without_embeddings: int
    params_without_embeddings_with_output_projection: int
    params_by_side: Dict[str, int] = field(default_factory=dict)  # without embeddings / output projection

    def to_dict(self) -> dict:
        return asdict(self)


def _side_totals(macs: Dict[str, Dict[str, int]]) -> Dict[str, int]:
    return {side: sum(macs.get(side, {}).get(p, 0) for p in INCLUDED_PARTS) for side in set(macs) | set(SIDES)}


def _random_tokens(dictionary, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(dictionary.nspecial, len(dictionary), (1, length), generator=g)


def _decoder_features(decoder, tokens, encoder_out, mode):
    try:
        return _run_decoder(decoder, tokens, encoder_out, mode)
    except NotImplementedError:
        raise ProfilerError(f"{type(decoder).__name__} does not implement extract_features(), which the profiler "
                            "needs to run the decoder without its output projection") from None


def _run_decoder(decoder, tokens, encoder_out, mode):
    if mode == "full":
        feats, _ = decoder.extract_features(tokens, encoder_out=encoder_out)
        return feats
    state: Dict = {}
    steps = []
    for t in range(tokens.size(1)):
        feats, _ = decoder.extract_features(tokens[:, : t + 1], encoder_out=encoder_out, incremental_state=state)
        steps.append(feats[:, -1:])
    return torch.cat(steps, dim=1)


def _output_layer(decoder, feats):
    adaptive = getattr(decoder, "adaptive_softmax", None)
    if adaptive is not None:
        return adaptive.get_log_prob(feats, None)
    return decoder.output_layer(feats)


def count_macs(built: BuiltModel, src_len: int, tgt_len: int, decoder_mode: str = "full"
               ) -> Dict[str, Dict[str, int]]:
    """Mult-Adds by side (encoder / decoder) and part, from one forward pass of ``built.model``."""
    if decoder_mode not in DECODER_MODES:
        raise ProfilerError(f"--decoder-mode: {decoder_mode!r} is not one of {', '.join(DECODER_MODES)}")
    model = built.model
    tgt = _random_tokens(built.tgt_dict, tgt_len, seed=1)
    counter = MacCounter(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # counts depend on shapes only; one thread avoids spinning workers on batch-1 ops
    fast_steps = fast_step.ENABLED
    fast_step.ENABLED = False  # count the reference operators; the inference fast paths do the same arithmetic
    try:
        _drive(built, counter, tgt, src_len, decoder_mode)
    finally:
        fast_step.ENABLED = fast_steps
        torch.set_num_threads(threads)
    return {side: dict(parts) for side, parts in counter.macs.items()}


def _drive(built: BuiltModel, counter: "MacCounter", tgt: torch.Tensor, src_len: int, decoder_mode: str) -> None:
    model = built.model
    with torch.no_grad(), counter:
        encoder_out = None
        if built.task == TRANSLATION:
            src = _random_tokens(built.src_dict, src_len, seed=0)
            counter.current_side = "encoder"
            encoder_out = model.encoder(src, src_lengths=torch.tensor([src_len]))
        counter.current_side = "decoder"
        feats = _decoder_features(model.decoder, tgt, encoder_out, decoder_mode)
        counter.force_part = "output_projection"
        _output_layer(model.decoder, feats)
        counter.force_part = None


def count_params(model: nn.Module) -> Dict[str, int]:
    """Parameters: total, embeddings, separate output projection, and the rest by side.

    Embeddings: every ``nn.Embedding`` (token and learned positional) and adaptive input. Output projection: the
    decoder's ``output_projection`` / ``embed_out`` / adaptive softmax, unless tied to an embedding (then it is
    counted once, under embeddings)."""
    unique = {id(p): p for p in model.parameters()}
    embedding_ids = set()
    for m in model.modules():
        if isinstance(m, (nn.Embedding, AdaptiveInput)):
            embedding_ids.update(id(p) for p in m.parameters())
    output_ids = set()
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        for attr in ("output_projection", "adaptive_softmax", "embed_out"):
            obj = getattr(decoder, attr, None)
            if isinstance(obj, nn.Module):
                output_ids.update(id(p) for p in obj.parameters())
            elif isinstance(obj, nn.Parameter):
                output_ids.add(id(obj))
    output_ids -= embedding_ids
    rest = set(unique) - embedding_ids - output_ids
    by_side = {}
    for side in SIDES:
        sub = getattr(model, side, None)
        if isinstance(sub, nn.Module):
            by_side[side] = sum(unique[i].numel() for i in {id(p) for p in sub.parameters()} & rest)
    return {
        "params": sum(p.numel() for p in unique.values()),
        "params_embeddings": sum(unique[i].numel() for i in embedding_ids if i in unique),
        "params_output_projection": sum(unique[i].numel() for i in output_ids if i in unique),
        "params_without_embeddings": sum(unique[i].numel() for i in rest),
        "by_side": by_side,
    }


def _check_lengths(built: BuiltModel, src_len: int, tgt_len: int) -> None:
    for name, value in (("--src-len", src_len), ("--tgt-len", tgt_len)):
        if not isinstance(value, int) or value < 1:
            raise ProfilerError(f"{name}: a sequence length must be a positive integer, got {value!r}")
    limits = [("--tgt-len", tgt_len, built.model.decoder)]
    if built.task == TRANSLATION:
        limits.append(("--src-len", src_len, built.model.encoder))
    for name, value, sub in limits:
        try:
            limit = sub.max_positions()
        except Exception:  # noqa: BLE001  (a module without the method: no limit to check)
            continue
        if isinstance(limit, (int, float)) and value > limit:
            raise ProfilerError(f"{name} {value} exceeds the model's {int(limit)} positions "
                                f"(raise --max-{'source' if name == '--src-len' else 'target'}-positions)")


def profile_model(built: BuiltModel, src_len: int = PAPER_SRC_LEN, tgt_len: int = PAPER_TGT_LEN,
                  decoder_mode: str = "full") -> ProfileResult:
    """Profile an already built model (see :func:`lite_fairseq.profiler.build`)."""
    _check_lengths(built, src_len, tgt_len)
    by_mode = {mode: count_macs(built, src_len, tgt_len, mode) for mode in DECODER_MODES}
    totals = {mode: sum(_side_totals(m).values()) for mode, m in by_mode.items()}
    macs = by_mode[decoder_mode]
    sides = _side_totals(macs)
    excluded = {p: sum(parts.get(p, 0) for parts in macs.values()) for p in EXCLUDED_PARTS}
    params = count_params(built.model)
    is_lm = built.task == LANGUAGE_MODELING
    return ProfileResult(
        arch=built.arch, task=built.task, src_len=None if is_lm else src_len, tgt_len=tgt_len,
        src_vocab=None if is_lm else len(built.src_dict), tgt_vocab=len(built.tgt_dict),
        decoder_mode=decoder_mode, macs=totals[decoder_mode], macs_full=totals["full"],
        macs_incremental=totals["incremental"], macs_by_part=macs,
        macs_encoder=sides.get("encoder", 0), macs_decoder=sides.get("decoder", 0) + sides.get("other", 0),
        macs_excluded=excluded, params=params["params"], params_embeddings=params["params_embeddings"],
        params_output_projection=params["params_output_projection"],
        params_without_embeddings=params["params_without_embeddings"],
        params_without_embeddings_with_output_projection=(params["params_without_embeddings"]
                                                          + params["params_output_projection"]),
        params_by_side=params["by_side"],
    )


def profile(arch: str, overrides: Sequence[str] = (), src_vocab: Optional[int] = None,
            tgt_vocab: Optional[int] = None, src_len: int = PAPER_SRC_LEN, tgt_len: int = PAPER_TGT_LEN,
            decoder_mode: str = "full", data: Optional[str] = None, source_lang: Optional[str] = None,
            target_lang: Optional[str] = None) -> ProfileResult:
    """Build ``arch`` (fairseq-style ``overrides``) and count its Mult-Adds and parameters.

    The function behind ``lite-fairseq-profile``. Vocabulary sizes come from ``src_vocab``/``tgt_vocab`` or from
    the ``dict.*.txt`` files of the data-bin directory ``data``; they only change the embedding and output
    projection counts. Raises :class:`ProfilerError` on bad input."""
    if decoder_mode not in DECODER_MODES:
        raise ProfilerError(f"--decoder-mode: {decoder_mode!r} is not one of {', '.join(DECODER_MODES)}")
    if data is not None:
        if src_vocab is not None or tgt_vocab is not None:
            raise ProfilerError("--data gives the vocabulary sizes; do not combine it with --src-vocab/--tgt-vocab")
        src_vocab, tgt_vocab = vocab_from_data_dir(data, infer_task(arch), source_lang, target_lang)
    for name, value in (("--src-vocab", src_vocab), ("--tgt-vocab", tgt_vocab)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ProfilerError(f"{name}: a vocabulary size must be a positive integer, got {value!r}")
    built = build(arch, overrides, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
    return profile_model(built, src_len, tgt_len, decoder_mode)

__all__ = ["PARTS", "DECODER_MODES", "MacCounter", "ProfileResult", "count_macs", "count_params", "profile",
           "profile_model", "op_macs"]
