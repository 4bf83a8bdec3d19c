"""Lite Transformer decoder: LSRA self block (causal convolutions), encoder-decoder attention, FFN; incremental."""

import math
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
from fairseq import utils
from fairseq.models import FairseqIncrementalDecoder
from fairseq.modules import LayerNorm, PositionalEmbedding, SinusoidalPositionalEmbedding
from fairseq.modules.fairseq_dropout import FairseqDropout
from torch import Tensor

from lite_fairseq.modules import LiteDecoderLayer

from .lite_transformer_options import SideLayout


class LiteTransformerDecoder(FairseqIncrementalDecoder):
    def __init__(self, args, dictionary, embed_tokens: nn.Embedding, layout: SideLayout,
                 no_encoder_attn: bool = False):
        super().__init__(dictionary)
        self.register_buffer("version", torch.Tensor([1]))
        embed_dim = embed_tokens.embedding_dim
        self.padding_idx = embed_tokens.padding_idx
        self.max_target_positions = args.max_target_positions
        self.embed_tokens = embed_tokens
        self.embed_scale = math.sqrt(embed_dim)
        self.embed_positions = None if args.no_token_positional_embeddings else PositionalEmbedding(
            args.max_target_positions, embed_dim, self.padding_idx, learned=args.decoder_learned_pos)
        self.dropout_module = FairseqDropout(args.dropout, module_name=self.__class__.__name__)
        self.layers = nn.ModuleList([
            LiteDecoderLayer(
                embed_dim, args.decoder_ffn_embed_dim, layout.branch_specs, kernel_size, args.decoder_glu,
                args.decoder_normalize_before, args.dropout, args.attention_dropout, args.activation_dropout,
                args.weight_dropout, encoder_attention_heads=args.decoder_attention_heads,
                encoder_embed_dim=getattr(args, "encoder_embed_dim", None), no_encoder_attn=no_encoder_attn,
                weight_softmax=args.weight_softmax, activation_fn=args.activation_fn,
                conv_backend=args.conv_backend)
            for kernel_size in layout.kernel_sizes
        ])
        self.layer_norm = LayerNorm(embed_dim) if args.decoder_normalize_before else None
        self.share_input_output_embed = args.share_decoder_input_output_embed
        self.output_projection = nn.Linear(embed_dim, len(dictionary), bias=False)
        if self.share_input_output_embed:
            self.output_projection.weight = self.embed_tokens.weight
        else:
            nn.init.normal_(self.output_projection.weight, mean=0, std=embed_dim ** -0.5)
        self._future_mask = torch.empty(0)

    def forward(self, prev_output_tokens: Tensor, encoder_out: Optional[Dict[str, List[Tensor]]] = None,
                incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
                features_only: bool = False, alignment_layer: Optional[int] = None, src_lengths: Optional[Any] = None,
                return_all_hiddens: bool = False, **unused):
        x, extra = self.extract_features(prev_output_tokens, encoder_out, incremental_state,
                                         alignment_layer=alignment_layer)
        if not features_only:
            x = self.output_layer(x)
        return x, extra

    def extract_features(self, prev_output_tokens: Tensor, encoder_out: Optional[Dict[str, List[Tensor]]] = None,
                         incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
                         alignment_layer: Optional[int] = None, **unused):
        if alignment_layer is None:
            alignment_layer = len(self.layers) - 1
        positions = None
        if self.embed_positions is not None:
            positions = self.embed_positions(prev_output_tokens, incremental_state=incremental_state)
        if incremental_state is not None:
            prev_output_tokens = prev_output_tokens[:, -1:]
            if positions is not None:
                positions = positions[:, -1:]
        x = self.embed_scale * self.embed_tokens(prev_output_tokens)
        if positions is not None:
            x = x + positions
        x = self.dropout_module(x)
        x = x.transpose(0, 1)  # B x T x C -> T x B x C

        enc, enc_mask = None, None
        if encoder_out is not None and len(encoder_out["encoder_out"]) > 0:
            enc = encoder_out["encoder_out"][0]
            if len(encoder_out["encoder_padding_mask"]) > 0 and encoder_out["encoder_padding_mask"][0].any():
                enc_mask = encoder_out["encoder_padding_mask"][0]
        self_attn_padding_mask = None
        if incremental_state is None and prev_output_tokens.eq(self.padding_idx).any():
            self_attn_padding_mask = prev_output_tokens.eq(self.padding_idx)

        attn: Optional[Tensor] = None
        inner_states: List[Optional[Tensor]] = [x]
        for idx, layer in enumerate(self.layers):
            self_attn_mask = self.buffered_future_mask(x) if incremental_state is None else None
            x, layer_attn = layer(x, enc, enc_mask, incremental_state, self_attn_mask=self_attn_mask,
                                  self_attn_padding_mask=self_attn_padding_mask,
                                  need_attn=idx == alignment_layer)
            inner_states.append(x)
            if idx == alignment_layer and layer_attn is not None:
                attn = layer_attn.float().to(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return x.transpose(0, 1), {"attn": [attn], "inner_states": inner_states}

    def output_layer(self, features: Tensor) -> Tensor:
        return self.output_projection(features)

    def max_positions(self):
        if self.embed_positions is None:
            return self.max_target_positions
        return min(self.max_target_positions, self.embed_positions.max_positions)

    def buffered_future_mask(self, tensor: Tensor) -> Tensor:
        dim = tensor.size(0)
        if self._future_mask.size(0) < dim or self._future_mask.device != tensor.device:
            self._future_mask = torch.triu(utils.fill_with_neg_inf(torch.zeros([dim, dim])), 1).to(tensor.device)
        return self._future_mask[:dim, :dim].to(tensor.dtype)

    def upgrade_state_dict_named(self, state_dict, name):
        if isinstance(self.embed_positions, SinusoidalPositionalEmbedding):
            state_dict.pop(f"{name}.embed_positions.weights", None)
            state_dict[f"{name}.embed_positions._float_tensor"] = torch.FloatTensor(1)
        # checkpoints that tied the projection store no separate weight
        key = f"{name}.output_projection.weight"
        if self.share_input_output_embed and key not in state_dict:
            embed_key = f"{name}.embed_tokens.weight"
            if embed_key in state_dict:
                state_dict[key] = state_dict[embed_key]
        state_dict.setdefault(f"{name}.version", torch.Tensor([1]))
        return state_dict
