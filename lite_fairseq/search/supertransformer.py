"""``--arch lite_supertransformer``: HAT's weight-shared SuperTransformer over LSRA, trained with plain
``fairseq-train``.

Every training update runs one SubTransformer drawn at random from the search space (``--search-space FILE``,
default :meth:`.space.SearchSpace.default`), on the leading slices of the shared weights (:mod:`.slicing`). The draw
is seeded by ``--seed`` and the update number alone (:meth:`LiteSuperTransformerModel.sample_config`), so every
distributed rank, and every batch of an update with ``--update-freq``, draws the same SubTransformer without any
communication (HAT draws one per update in its trainer; here the model draws it in its forward, from the update
number fairseq's task gives it). Validation and inference run the fixed SubTransformer of
``--valid-subtransformer`` (``largest``, ``smallest`` or a JSON file of a :class:`.space.SubConfig`), or the one
set by :meth:`LiteSuperTransformerModel.set_sample_config` (what the search does).

Weights a SubTransformer does not use get no gradient in that update (the optimizer leaves them alone, as HAT's
does): on several processes add ``--find-unused-parameters`` (every rank draws the same SubTransformer, so the
unused weights are unused on every rank and keep no gradient); ``--ddp-backend legacy_ddp`` would give them zero
gradients instead, which Adam's momentum still moves.
"""

import collections
import json
import random

import torch
from fairseq.models import FairseqEncoderDecoderModel, register_model, register_model_architecture

from lite_fairseq.models.architecture_defaults import set_common_defaults, set_defaults
from lite_fairseq.models.embedding import build_embedding
from lite_fairseq.models.lite_transformer_options import add_common_args
from lite_fairseq.models.standalone import StandaloneTask

from .plain import build_plain_model
from .space import SearchSpace, SearchSpaceError, SubConfig
from .super_layers import SuperDecoder, SuperEncoder

VALID_CHOICES = ("largest", "smallest")
SUB_MODEL_CACHE = 8  # plain SubTransformer modules kept (they hold no weights)
SEED_STRIDE = 1_000_003  # seed * stride + update: one random stream per (seed, update)


def add_supertransformer_args(parser):
    add_common_args(parser)
    parser.add_argument("--search-space", metavar="FILE",
                        help="the search space (JSON or YAML, see lite_fairseq.search.space.SearchSpace); default: "
                             "the built-in space for CPU work on a small corpus (embeddings up to 256)")
    parser.add_argument("--valid-subtransformer", metavar="largest|smallest|FILE",
                        help="the SubTransformer of validation and inference: largest (default), smallest, or a "
                             "JSON file of one SubTransformer config")


def load_space(path) -> SearchSpace:
    return SearchSpace.default() if path in (None, "", "default") else SearchSpace.from_file(path)


def space_buffer(space: SearchSpace) -> torch.Tensor:
    """The space as JSON bytes, kept in the checkpoint (``search_space``) so extraction needs no file."""
    return torch.tensor(list(json.dumps(space.to_dict(), sort_keys=True).encode()), dtype=torch.uint8)


def space_from_buffer(buffer: torch.Tensor) -> SearchSpace:
    return SearchSpace.from_dict(json.loads(bytes(buffer.tolist()).decode()))


def valid_config(choice, space: SearchSpace) -> SubConfig:
    if choice in (None, "", "largest"):
        return space.largest()
    if choice == "smallest":
        return space.smallest()
    try:
        sub = SubConfig.from_file(choice)
        space.check_contains(sub)
    except SearchSpaceError as err:
        raise SearchSpaceError(f"--valid-subtransformer: {err} (or give largest / smallest)") from None
    return sub


@register_model("lite_supertransformer")
class LiteSuperTransformerModel(FairseqEncoderDecoderModel):
    """Weight-shared SuperTransformer over LSRA layers (HAT, Wang et al., ACL 2020, with Lite Transformer's
    attention/convolution split as a searched dimension). Architectures: ``lite_supertransformer`` and
    ``lite_supertransformer_ddtp``."""

    @staticmethod
    def add_args(parser):
        add_supertransformer_args(parser)

    @classmethod
    def build_model(cls, args, task):
        lite_supertransformer(args)
        try:  # every option is checked before a weight is built
            space = load_space(getattr(args, "search_space", None))
        except SearchSpaceError as err:
            raise SearchSpaceError(f"--search-space: {err}") from None
        valid = valid_config(getattr(args, "valid_subtransformer", None), space)
        task_cfg = getattr(task, "cfg", None)
        for name in ("max_source_positions", "max_target_positions"):
            if getattr(args, name, None) is None:
                setattr(args, name, getattr(task_cfg, name, None) or 1024)
        src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
        enc_dim, dec_dim = max(space.encoder_embed_dims), max(space.decoder_embed_dims)
        encoder = SuperEncoder(args, src_dict, build_embedding(src_dict, enc_dim), space)
        decoder = SuperDecoder(args, tgt_dict, build_embedding(tgt_dict, dec_dim), space, enc_dim)
        return cls(encoder, decoder, args, space, valid, StandaloneTask(src_dict, tgt_dict))

    def __init__(self, encoder, decoder, args, space: SearchSpace, valid: SubConfig, task: StandaloneTask):
        super().__init__(encoder, decoder)
        self.args = args
        self.space = space
        self.register_buffer("search_space", space_buffer(space))
        seed = getattr(args, "seed", None)
        self.seed = 1 if seed is None else int(seed)  # fairseq-train's --seed (default 1)
        self.num_updates = 0
        self.__dict__["plain_task"] = task
        self.__dict__["plain_models"] = collections.OrderedDict()
        self.fixed_config = valid
        self.active_config = None
        self._activate(valid)

    # ---- SubTransformers ----
    def sample_config(self, update_num: int) -> SubConfig:
        """The SubTransformer of training update ``update_num``: a function of ``--seed`` and the update only."""
        return self.space.sample(random.Random(self.seed * SEED_STRIDE + int(update_num)))

    def set_sample_config(self, sub: SubConfig) -> None:
        """Run ``sub`` in evaluation and inference (until the next call); it must belong to the space."""
        if isinstance(sub, dict):
            sub = SubConfig.from_dict(sub)
        self.space.check_contains(sub)
        self.fixed_config = sub
        self._activate(sub)

    def plain_model(self, sub: SubConfig):
        """The plain ``lite_transformer`` module of ``sub`` (no weights of its own), cached."""
        cache = self.plain_models
        if sub in cache:
            cache.move_to_end(sub)
            return cache[sub]
        model = build_plain_model(sub, self.space, self.args, self.plain_task, device="meta")
        if self.__dict__.get("generation_fast") is not None:
            model.make_generation_fast_(**self.generation_fast)
        cache[sub] = model
        while len(cache) > SUB_MODEL_CACHE:
            cache.popitem(last=False)
        return model

    def _activate(self, sub: SubConfig) -> None:
        if sub == self.active_config:
            return
        plain = self.plain_model(sub)
        self.encoder.activate(sub, plain.encoder)
        self.decoder.activate(sub, plain.decoder)
        self.active_config = sub

    def make_generation_fast_(self, **kwargs):
        """fairseq-generate's preparation reaches the SubTransformers' plain modules too (they are no submodules),
        so they decode as the extracted model does."""
        super().make_generation_fast_(**kwargs)
        self.__dict__["generation_fast"] = kwargs
        for model in self.plain_models.values():
            model.make_generation_fast_(**kwargs)

    def set_num_updates(self, num_updates):
        super().set_num_updates(num_updates)
        self.num_updates = num_updates

    def train(self, mode: bool = True):
        super().train(mode)
        if not mode:
            self._activate(self.fixed_config)
        return self

    def forward(self, src_tokens, src_lengths, prev_output_tokens, return_all_hiddens: bool = False,
                features_only: bool = False, alignment_layer=None, alignment_heads=None):
        self._activate(self.sample_config(self.num_updates) if self.training else self.fixed_config)
        encoder_out = self.encoder(src_tokens, src_lengths=src_lengths, return_all_hiddens=return_all_hiddens)
        return self.decoder(prev_output_tokens, encoder_out=encoder_out, features_only=features_only,
                            alignment_layer=alignment_layer, src_lengths=src_lengths,
                            return_all_hiddens=return_all_hiddens)

    def upgrade_state_dict_named(self, state_dict, name):
        """A checkpoint's space must be the model's (the weights' shapes follow from it)."""
        key = f"{name}.search_space" if name else "search_space"
        stored = state_dict.get(key)
        if stored is not None and not torch.equal(stored.cpu(), self.search_space.cpu()):
            raise SearchSpaceError("the checkpoint was trained with another search space than --search-space "
                                   f"gives: {space_from_buffer(stored).to_dict()}; pass that space's file")
        super().upgrade_state_dict_named(state_dict, name)


@register_model_architecture("lite_supertransformer", "lite_supertransformer")
def lite_supertransformer(args):
    """The default space (:meth:`.space.SearchSpace.default`), dropout 0.1."""
    set_defaults(args, search_space=None, valid_subtransformer="largest")
    set_common_defaults(args)


@register_model_architecture("lite_supertransformer", "lite_supertransformer_ddtp")
def lite_supertransformer_ddtp(args):
    """The default space, for the DDTP German-English corpus on the CPU (dropout 0.1, as the Lite presets of its
    size)."""
    set_defaults(args, dropout=0.1, attention_dropout=0.0, weight_dropout=0.0)
    lite_supertransformer(args)


__all__ = ["LiteSuperTransformerModel", "load_space", "space_from_buffer", "valid_config"]
