"""The SuperTransformer's weights, and its encoder and decoder, which run the active SubTransformer.

Each super layer holds the largest weights a SubTransformer of the space can take (:mod:`.slicing` cuts them): a
full-width attention branch (``attn``) and a full-width convolution branch (``conv``: the largest kernel and heads),
the FFN at the largest hidden size, the layer norms and, in the decoder, the encoder-decoder attention. The modules
are the plain model's own (fairseq's ``MultiheadAttention``, :class:`~lite_fairseq.modules.ConvBranch`,
:class:`~lite_fairseq.modules.FeedForward`), so the weights start as the plain model's would.

:class:`SuperEncoder` and :class:`SuperDecoder` run the active SubTransformer as a plain ``lite_transformer``
module (built without memory, see :func:`.plain.build_plain_model`) on weights sliced from theirs
(``torch.func.functional_call``), so gradients reach the shared weights and the outputs are, by construction, the
plain model's. The model sets the active SubTransformer (:meth:`activate`).
"""

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from fairseq.models import FairseqEncoder, FairseqIncrementalDecoder
from fairseq.modules import LayerNorm, MultiheadAttention
from torch import Tensor
from torch.func import functional_call

from lite_fairseq.modules import BranchSpec, ConvBranch, FeedForward, LayerConfig

from .plain import match_position_tables
from .slicing import sub_state_dict
from .space import SearchSpace, SubConfig


class SuperLayer(nn.Module):
    """The largest weights of one encoder or decoder layer."""

    def __init__(self, side: str, space: SearchSpace, args, encoder_dim: int = 0):
        super().__init__()
        d = max(getattr(space, f"{side}_embed_dims"))
        kernel = max(getattr(space, f"{side}_kernel_sizes"))
        heads = max(space.conv_heads)
        if d % heads:
            raise ValueError(f"--search-space: the largest conv_heads {heads} do not divide the largest "
                             f"{side}_embed_dims {d}; the SuperTransformer's convolution needs both")
        cfg = LayerConfig(embed_dim=d, ffn_dim=max(getattr(space, f"{side}_ffn_dims")),
                          branch_specs=(BranchSpec(space.conv_type, d, heads),), kernel_size=kernel,
                          causal=side == "decoder", glu=space.glu, normalize_before=space.normalize_before,
                          weight_softmax=args.weight_softmax)
        self.attn = MultiheadAttention(d, 1, self_attention=True)
        self.conv = ConvBranch(cfg, cfg.branch_specs[0])
        self.self_attn_residual = _Norm(d)
        self.ffn = FeedForward(cfg)
        self.ffn_residual = _Norm(d)
        if side == "decoder":
            self.encoder_attn = MultiheadAttention(d, 1, kdim=encoder_dim, vdim=encoder_dim,
                                                   encoder_decoder_attention=True)
            self.encoder_attn_residual = _Norm(d)


class _Norm(nn.Module):
    """Holds ``layer_norm`` under the name the plain layers' ResidualNorm uses."""

    def __init__(self, dim: int):
        super().__init__()
        self.layer_norm = LayerNorm(dim)


class _SuperSide:
    """What the encoder and decoder share: the active SubTransformer and the weights it runs on."""

    side = ""

    def _setup(self, args, space: SearchSpace, embed_tokens: nn.Embedding, encoder_dim: int = 0):
        self.register_buffer("version", torch.Tensor([1]))
        self.embed_tokens = embed_tokens
        self.padding_idx = embed_tokens.padding_idx
        self.layers = nn.ModuleList([SuperLayer(self.side, space, args, encoder_dim)
                                     for _ in range(max(getattr(space, f"{self.side}_layers")))])
        self.layer_norm = LayerNorm(embed_tokens.embedding_dim) if space.normalize_before else None
        self.__dict__["space"] = space
        self.__dict__["active"] = None  # (SubConfig, the plain module of this side); not a submodule

    def activate(self, sub: SubConfig, plain_module: nn.Module) -> None:
        self.__dict__["active"] = (sub, plain_module)

    def _active(self) -> Tuple[SubConfig, nn.Module]:
        if self.active is None:
            raise RuntimeError("no SubTransformer is active: call the model's set_sample_config(sub) first")
        return self.active

    def sub_weights(self, sub: SubConfig) -> Dict[str, Tensor]:
        """This side's weights of ``sub``, named as in the plain module of this side."""
        prefix = f"{self.side}."
        params = {prefix + name: p for name, p in self.named_parameters()}
        sliced = sub_state_dict(params, sub, self.space, sides=(self.side,))
        return {name[len(prefix):]: t for name, t in sliced.items()}

    def run_active(self, *args, **kwargs):
        sub, plain = self._active()
        plain.train(self.training)
        match_position_tables(plain, self.embed_tokens.weight)
        return functional_call(plain, self.sub_weights(sub), args, kwargs, strict=False)


class SuperEncoder(_SuperSide, FairseqEncoder):
    side = "encoder"

    def __init__(self, args, dictionary, embed_tokens: nn.Embedding, space: SearchSpace):
        FairseqEncoder.__init__(self, dictionary)
        self._setup(args, space, embed_tokens)
        self.max_source_positions = args.max_source_positions

    def forward(self, src_tokens: Tensor, src_lengths: Optional[Tensor] = None, return_all_hiddens: bool = False):
        return self.run_active(src_tokens, src_lengths=src_lengths, return_all_hiddens=return_all_hiddens)

    def reorder_encoder_out(self, encoder_out: Dict[str, List[Tensor]], new_order: Tensor):
        return self._active()[1].reorder_encoder_out(encoder_out, new_order)

    def max_positions(self):
        return self.max_source_positions


class SuperDecoder(_SuperSide, FairseqIncrementalDecoder):
    side = "decoder"

    def __init__(self, args, dictionary, embed_tokens: nn.Embedding, space: SearchSpace, encoder_dim: int):
        FairseqIncrementalDecoder.__init__(self, dictionary)
        self._setup(args, space, embed_tokens, encoder_dim)
        self.max_target_positions = args.max_target_positions
        self.adaptive_softmax = None
        if not space.share_decoder_input_output_embed:
            d = embed_tokens.embedding_dim
            self.output_projection = nn.Linear(d, len(dictionary), bias=False)
            nn.init.normal_(self.output_projection.weight, mean=0, std=d ** -0.5)

    def forward(self, prev_output_tokens: Tensor, encoder_out=None, incremental_state=None,
                features_only: bool = False, alignment_layer: Optional[int] = None, src_lengths=None,
                return_all_hiddens: bool = False, **unused):
        return self.run_active(prev_output_tokens, encoder_out=encoder_out, incremental_state=incremental_state,
                               features_only=features_only, alignment_layer=alignment_layer,
                               src_lengths=src_lengths, return_all_hiddens=return_all_hiddens)

    def extract_features(self, prev_output_tokens, encoder_out=None, incremental_state=None, **kwargs):
        return self.forward(prev_output_tokens, encoder_out, incremental_state, features_only=True, **kwargs)

    def output_layer(self, features: Tensor) -> Tensor:
        sub, _ = self._active()
        d = sub.decoder_embed_dim
        weight = (self.embed_tokens.weight if getattr(self, "output_projection", None) is None
                  else self.output_projection.weight)
        return torch.nn.functional.linear(features, weight[:, :d])

    def reorder_incremental_state_scripting(self, incremental_state, new_order: Tensor):
        self._active()[1].reorder_incremental_state_scripting(incremental_state, new_order)

    def max_positions(self):
        return self.max_target_positions


__all__ = ["SuperDecoder", "SuperEncoder", "SuperLayer"]
