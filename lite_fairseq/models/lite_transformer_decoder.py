"""Lite Transformer decoder: LSRA self block (causal convolutions), encoder-decoder attention, FFN; incremental.

The same class is the whole of the language model (``no_encoder_attn=True``): its token embedding may then be
fairseq's :class:`~fairseq.modules.AdaptiveInput` and its output an :class:`~fairseq.modules.AdaptiveSoftmax`
(``adaptive_softmax=``), in which case :meth:`output_layer` returns the features and fairseq's ``adaptive_loss``
criterion and ``get_normalized_probs`` go through ``self.adaptive_softmax``, as for fairseq's own decoders.
"""

from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
from fairseq import utils
from fairseq.models import FairseqIncrementalDecoder
from fairseq.modules import AdaptiveSoftmax, LayerNorm, SinusoidalPositionalEmbedding
from torch import Tensor

from lite_fairseq.modules import LiteDecoderLayer, fast_step

from .embedding import init_embedding_front, upgrade_positions_state
from .lite_transformer_options import EncoderDecoderAttention, SideLayout


class LiteTransformerDecoder(FairseqIncrementalDecoder):
    """``embed_tokens``: an ``nn.Embedding`` or an ``AdaptiveInput`` (anything with ``embedding_dim`` and
    ``padding_idx``). ``adaptive_softmax``: replaces the output projection when given. ``args.no_decoder_final_norm``
    (pre-norm only) drops the layer norm after the last layer, as fairseq's adaptive-input language models do.
    ``encoder_decoder_attention``: per layer, the heads of its encoder-decoder attention and how many of the last
    encoder layers it reads (default: ``args.decoder_attention_heads`` heads over the encoder's output). A layer
    reading N > 1 attends over the encoder's output followed by the outputs of the N-1 layers before the last one,
    joined along the source positions, as HAT's arbitrary encoder-decoder attention does."""

    def __init__(self, args, dictionary, embed_tokens: nn.Module, layout: SideLayout,
                 no_encoder_attn: bool = False, adaptive_softmax: Optional[AdaptiveSoftmax] = None,
                 encoder_decoder_attention: Optional[EncoderDecoderAttention] = None):
        super().__init__(dictionary)
        self.register_buffer("version", torch.Tensor([1]))
        self.max_target_positions = args.max_target_positions
        embed_dim = init_embedding_front(self, args, embed_tokens, args.max_target_positions, args.decoder_learned_pos)
        n = len(layout.layers)
        if no_encoder_attn:
            heads, self.ende_layers = [None] * n, (1,) * n
        elif encoder_decoder_attention is None:
            heads, self.ende_layers = [args.decoder_attention_heads] * n, (1,) * n
        else:
            heads, self.ende_layers = encoder_decoder_attention.heads, encoder_decoder_attention.layers
        encoder_embed_dim = None if no_encoder_attn else getattr(args, "encoder_embed_dim", None)
        self.layers = nn.ModuleList([LiteDecoderLayer(cfg, h, encoder_embed_dim)
                                     for cfg, h in zip(layout.layers, heads)])
        final_norm = args.decoder_normalize_before and not getattr(args, "no_decoder_final_norm", False)
        self.layer_norm = LayerNorm(embed_dim) if final_norm else None
        self.share_input_output_embed = args.share_decoder_input_output_embed
        self.adaptive_softmax = adaptive_softmax
        if adaptive_softmax is not None:
            if self.share_input_output_embed:
                raise ValueError("--share-decoder-input-output-embed cannot be combined with an adaptive softmax "
                                 "(--adaptive-softmax-cutoff); tie the adaptive softmax to the adaptive input "
                                 "with --tie-adaptive-weights instead")
            self.output_projection = None
        else:
            self.output_projection = nn.Linear(embed_dim, len(dictionary), bias=False)
            if self.share_input_output_embed:
                if not isinstance(getattr(self.embed_tokens, "weight", None), torch.Tensor):
                    raise ValueError("--share-decoder-input-output-embed needs a plain token embedding; with "
                                     "--adaptive-input use an adaptive softmax tied by --tie-adaptive-weights")
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
        self._check_length(prev_output_tokens)
        if incremental_state is None or len(incremental_state) == 0:  # a full forward, or a decoding's first step
            self.share_encoder_keys_across_beam(encoder_out if incremental_state is not None else None)
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
        joined: Dict[int, Any] = {1: (enc, enc_mask)}
        for idx, layer in enumerate(self.layers):
            self_attn_mask = self.buffered_future_mask(x) if incremental_state is None else None
            layer_enc, layer_enc_mask = enc, enc_mask
            n = self.ende_layers[idx]
            if n > 1 and enc is not None and not layer.has_cached_encoder_keys(incremental_state):
                if n not in joined:
                    joined[n] = join_encoder_layers(encoder_out, n, enc, enc_mask)
                layer_enc, layer_enc_mask = joined[n]
            if layer.can_decode_step(x, layer_enc, incremental_state, self_attn_mask, self_attn_padding_mask):
                # one decoding step at inference; only the alignment layer's attention weights are read below
                x, layer_attn = layer.decode_step(x[0], layer_enc is not None, incremental_state,
                                                  need_weights=idx == alignment_layer)
            else:
                x, layer_attn = layer(x, layer_enc, layer_enc_mask, incremental_state,
                                      self_attn_mask=self_attn_mask, self_attn_padding_mask=self_attn_padding_mask,
                                      need_attn=idx == alignment_layer)
            inner_states.append(x)
            if idx == alignment_layer and layer_attn is not None:
                attn = layer_attn.float().to(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return x.transpose(0, 1), {"attn": [attn], "inner_states": inner_states}

    def output_layer(self, features: Tensor) -> Tensor:
        """Vocabulary logits; with an adaptive softmax the features themselves (the criterion and
        ``get_normalized_probs`` apply ``self.adaptive_softmax``)."""
        if self.adaptive_softmax is not None:
            return features
        if features.dim() == 3 and features.size(1) == 1:  # a decoding step: its rows, as the layers' products
            return fast_step.linear_rows(self.output_projection, features[:, 0]).unsqueeze(1)
        return self.output_projection(features)

    def _check_length(self, prev_output_tokens: Tensor) -> None:
        """Refuse a prefix longer than the learned position table with the options to change, rather than failing
        inside the embedding lookup. Sinusoidal positions exist for any length: as in fairseq, a longer input (e.g.
        fairseq-eval-lm's --context-window added to a block) runs, and fairseq's batching enforces
        --max-target-positions / --tokens-per-sample where it applies."""
        if prev_output_tokens.dim() != 2:
            raise ValueError(f"decoder input must be a 2-D batch x time tensor of token ids, got shape "
                             f"{tuple(prev_output_tokens.shape)}")
        if self.embed_positions is None or isinstance(self.embed_positions, SinusoidalPositionalEmbedding):
            return
        length, limit = prev_output_tokens.size(1), self.embed_positions.max_positions
        if length > limit:
            raise ValueError(f"decoder input of {length} tokens is longer than the {limit} learned positions "
                             "(--decoder-learned-pos, sized by --max-target-positions; for language models "
                             "--tokens-per-sample); use shorter inputs (fairseq-eval-lm: --context-window plus the "
                             "block must fit) or skip them (--skip-invalid-size-inputs-valid-test)")

    def max_positions(self):
        if self.embed_positions is None:
            return self.max_target_positions
        return min(self.max_target_positions, self.embed_positions.max_positions)

    def buffered_future_mask(self, tensor: Tensor) -> Tensor:
        dim = tensor.size(0)
        if self._future_mask.size(0) < dim or self._future_mask.device != tensor.device:
            self._future_mask = torch.triu(utils.fill_with_neg_inf(torch.zeros([dim, dim])), 1).to(tensor.device)
        return self._future_mask[:dim, :dim].to(tensor.dtype)

    def share_encoder_keys_across_beam(self, encoder_out: Optional[Dict[str, List[Tensor]]]):
        """At the first step of an incremental decoding: when the encoder's output repeats each sentence N times (a
        beam of N, marked ``beam_copies`` by the encoder's ``reorder_encoder_out``), each encoder-decoder attention
        projects a sentence's keys and values once and its N hypotheses share them (fairseq's beamable attention,
        ``MultiheadAttention.set_beam_size``); otherwise (and for every full forward: ``encoder_out=None`` here)
        one copy per hypothesis. Decided anew for each decoding and each full forward, so neither a greedy search
        nor training after a beam search (``--eval-bleu``) inherits the beam's setting, which fairseq's
        MultiheadAttention would apply to any batch whose keys have as many rows as its queries."""
        copies = encoder_out.get("beam_copies", []) if encoder_out is not None else []
        self.set_beam_size(int(copies[0]) if len(copies) > 0 else 1)

    def reorder_incremental_state_scripting(self, incremental_state: Dict[str, Dict[str, Optional[Tensor]]],
                                            new_order: Tensor):
        """Beam reordering (what fairseq's SequenceGenerator calls): fairseq's version walks every module of the
        decoder (about 200 at six layers) looking for ``reorder_incremental_state``; here only the modules that keep
        a state are visited (:meth:`LiteDecoderLayer.stateful_modules`), each reordering its own state as before.
        With the inference fast paths off (``fast_step.ENABLED``/``LAYER_STEP``) fairseq's walk runs."""
        if not (fast_step.ENABLED and fast_step.LAYER_STEP):
            return super().reorder_incremental_state_scripting(incremental_state, new_order)
        self.reorder_incremental_state(incremental_state, new_order)
        for layer in self.layers:
            for module in layer.stateful_modules():
                module.reorder_incremental_state(incremental_state, new_order)

    def upgrade_state_dict_named(self, state_dict, name):
        upgrade_positions_state(self, state_dict, name)
        # checkpoints that tied the projection store no separate weight
        key = f"{name}.output_projection.weight"
        if self.output_projection is not None and self.share_input_output_embed and key not in state_dict:
            embed_key = f"{name}.embed_tokens.weight"
            if embed_key in state_dict:
                state_dict[key] = state_dict[embed_key]
        state_dict.setdefault(f"{name}.version", torch.Tensor([1]))
        return state_dict


def join_encoder_layers(encoder_out: Dict[str, List[Tensor]], n: int, enc: Tensor, enc_mask: Optional[Tensor]):
    """The encoder's output followed by the outputs of the ``n - 1`` layers before its last one, along the source
    positions, and the padding mask repeated to match (None stays None)."""
    extra = encoder_out.get("encoder_layer_outputs", [])
    if len(extra) < n - 1:
        raise ValueError(f"a decoder layer reads the last {n} encoder layers (--decoder-ende-attn-layers) but the "
                         f"encoder returned {len(extra) + 1}; build the encoder with extra_layer_outputs >= {n - 1}")
    keys = torch.cat([enc] + list(extra[:n - 1]), dim=0)
    mask = None if enc_mask is None else torch.cat([enc_mask] * n, dim=1)
    return keys, mask
