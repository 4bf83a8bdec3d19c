"""Lite Transformer encoder: embeddings + positions, then LSRA encoder layers.

Besides fairseq's keys, its output holds ``encoder_layer_outputs``: the outputs of the ``extra_layer_outputs``
layers before the last one (last but one first), which decoder layers with ``--decoder-ende-attn-layers`` > 1 read;
an empty list otherwise. When :meth:`~LiteTransformerEncoder.reorder_encoder_out` repeats each sentence N times in a
row, as fairseq's SequenceGenerator does for a beam of N, the result also holds ``beam_copies`` (``[N]``): the
decoder then lets a sentence's hypotheses share one copy of its encoder-decoder keys and values."""

from typing import Dict, List, Optional

import torch
import torch.nn as nn
from fairseq.models import FairseqEncoder
from fairseq.modules import LayerNorm
from torch import Tensor

from lite_fairseq.modules import LiteEncoderLayer

from .embedding import init_embedding_front, upgrade_positions_state
from .lite_transformer_options import SideLayout


class LiteTransformerEncoder(FairseqEncoder):
    def __init__(self, args, dictionary, embed_tokens: nn.Embedding, layout: SideLayout,
                 extra_layer_outputs: int = 0):
        super().__init__(dictionary)
        if not 0 <= extra_layer_outputs < len(layout.layers):
            raise ValueError(f"the encoder has {len(layout.layers)} layers: it cannot return the outputs of "
                             f"{extra_layer_outputs} layers before the last one")
        self.extra_layer_outputs = extra_layer_outputs
        self.register_buffer("version", torch.Tensor([1]))
        self.max_source_positions = args.max_source_positions
        embed_dim = init_embedding_front(self, args, embed_tokens, args.max_source_positions, args.encoder_learned_pos)
        self.layers = nn.ModuleList([LiteEncoderLayer(cfg) for cfg in layout.layers])
        self.layer_norm = LayerNorm(embed_dim) if args.encoder_normalize_before else None

    def forward(self, src_tokens: Tensor, src_lengths: Optional[Tensor] = None, return_all_hiddens: bool = False):
        if src_tokens.size(1) > self.max_positions():
            raise ValueError(f"source of {src_tokens.size(1)} tokens is longer than the encoder's "
                             f"{self.max_positions()} positions (--max-source-positions); truncate long sources "
                             "(fairseq's translation task: --truncate-source) or skip them "
                             "(--skip-invalid-size-inputs-valid-test)")
        x = self.embed_scale * self.embed_tokens(src_tokens)
        if self.embed_positions is not None:
            x = x + self.embed_positions(src_tokens)
        x = self.dropout_module(x)
        x = x.transpose(0, 1)  # B x T x C -> T x B x C
        padding_mask = src_tokens.eq(self.padding_idx)
        layer_mask = padding_mask if padding_mask.any() else None
        states: List[Tensor] = []
        extra: List[Tensor] = []
        first_extra = len(self.layers) - 1 - self.extra_layer_outputs
        for idx, layer in enumerate(self.layers):
            x = layer(x, layer_mask)
            if return_all_hiddens:
                states.append(x)
            if first_extra <= idx < len(self.layers) - 1:
                extra.insert(0, x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return {
            "encoder_out": [x],  # T x B x C
            "encoder_padding_mask": [padding_mask],  # B x T
            "encoder_embedding": [],
            "encoder_states": states,
            "encoder_layer_outputs": extra,  # T x B x C each, the last but one layer's first
            "src_tokens": [],
            "src_lengths": [] if src_lengths is None else [src_lengths],
        }

    @torch.jit.export
    def reorder_encoder_out(self, encoder_out: Dict[str, List[Tensor]], new_order: Tensor):
        def select(key, dim):
            return [t.index_select(dim, new_order) for t in encoder_out[key]]

        reordered = {
            "encoder_out": select("encoder_out", 1),
            "encoder_padding_mask": select("encoder_padding_mask", 0),
            "encoder_embedding": select("encoder_embedding", 0),
            "encoder_states": select("encoder_states", 1),
            "encoder_layer_outputs": select("encoder_layer_outputs", 1) if "encoder_layer_outputs" in encoder_out
            else [],
            "src_tokens": select("src_tokens", 0),
            "src_lengths": select("src_lengths", 0),
        }
        if len(encoder_out["encoder_out"]) > 0:
            copies = copies_per_sentence(new_order, encoder_out["encoder_out"][0].size(1))
            if copies > 1:
                reordered["beam_copies"] = [torch.tensor(copies)]
        return reordered

    def max_positions(self):
        if self.embed_positions is None:
            return self.max_source_positions
        return min(self.max_source_positions, self.embed_positions.max_positions)

    def upgrade_state_dict_named(self, state_dict, name):
        upgrade_positions_state(self, state_dict, name)
        state_dict.setdefault(f"{name}.version", torch.Tensor([1]))
        return state_dict


def copies_per_sentence(new_order: Tensor, sentences: int) -> int:
    """N when ``new_order`` is ``0, 0, ..., 1, 1, ...`` (each of ``sentences`` rows N times in a row), else 1."""
    if sentences < 1 or new_order.numel() % sentences or new_order.numel() == sentences:
        return 1
    copies = new_order.numel() // sentences
    expected = torch.arange(sentences, device=new_order.device).repeat_interleave(copies)
    return copies if torch.equal(new_order, expected) else 1
