"""Beam search shares each sentence's encoder-decoder keys and values among its hypotheses (fairseq's beamable
attention, switched on per decoding by the Lite decoder): the same hypotheses and scores as one copy per
hypothesis, with finished sentences leaving the batch, through the fast paths and through fairseq's own attention;
and neither a greedy search nor a full forward pass after a beam search inherits the beam's setting."""

import copy

import pytest
import torch
from fairseq.sequence_generator import SequenceGenerator

from lite_fairseq.models import lite_transformer_encoder
from lite_fairseq.models.lite_transformer_encoder import copies_per_sentence
from lite_fairseq.modules import fast_step
from model_helpers import build_model, make_dictionary, random_tokens

MIXED = ["--decoder-layer-branches", "dynamic:default:128:4", "attn:1:128:4", "attn:1:64:4+lightweight:5:64:2",
         "--decoder-ende-attn-layers", "3", "2", "1"]
CONFIGS = {"tiny": [], "mixed branches, attention over 3/2/1 encoder layers": MIXED}
EOS_BIAS = {"tiny": 1.0, "mixed branches, attention over 3/2/1 encoder layers": 2.0}  # sentences end at different steps


def _sample(d, seed=3):
    """Five sources of lengths 2..7, left-padded."""
    g = torch.Generator().manual_seed(seed)
    lengths = [7, 2, 5, 7, 4]
    src = torch.full((len(lengths), max(lengths)), d.pad())
    for row, n in enumerate(lengths):
        src[row, -n:] = random_tokens(d, 1, n, g)[0]
        src[row, -1] = d.eos()
    return {"net_input": {"src_tokens": src, "src_lengths": torch.tensor(lengths)}}


def _generate(model, d, sample, beam, max_len_b=12):
    gen = SequenceGenerator([model], d, beam_size=beam, max_len_a=0, max_len_b=max_len_b)
    with torch.no_grad():
        return gen.generate([model], sample)


def test_copies_per_sentence_reads_the_beam_from_the_generators_expansion():
    assert copies_per_sentence(torch.tensor([0, 0, 0, 1, 1, 1]), 2) == 3
    assert copies_per_sentence(torch.tensor([0, 1, 2]), 3) == 1  # greedy: one copy each
    assert copies_per_sentence(torch.tensor([1, 1, 0, 0]), 2) == 1  # not in order: no sharing
    assert copies_per_sentence(torch.tensor([0, 0, 1]), 2) == 1  # not a whole number of copies
    assert copies_per_sentence(torch.tensor([0, 0, 0, 0]), 2) == 1  # one sentence taken twice as often


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_sentences_hypotheses_share_one_copy_of_its_encoder_keys(name):
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", CONFIGS[name], dictionary=d).eval()
    sample, beam = _sample(d), 3
    n = sample["net_input"]["src_tokens"].size(0)
    with torch.no_grad():
        enc = model.encoder(**sample["net_input"])
        enc = model.encoder.reorder_encoder_out(enc, torch.arange(n).repeat_interleave(beam))
        state = {}
        model.decoder(torch.full((n * beam, 1), d.eos()), enc, incremental_state=state)
    keys = [layer.encoder_attn.get_incremental_state(state, fast_step.STATE_KEY)["prev_key"]
            for layer in model.decoder.layers]
    assert [k.size(0) for k in keys] == [n] * len(keys)


@pytest.mark.parametrize("fast_paths", [True, False])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_beam_search_finds_the_same_hypotheses_with_shared_encoder_keys(monkeypatch, name, fast_paths):
    monkeypatch.setattr(fast_step, "ENABLED", fast_paths)
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", CONFIGS[name], dictionary=d).eval()

    def likelier_end(module, inputs, logits):
        logits[..., d.eos()] += EOS_BIAS[name]
        return logits

    model.decoder.output_projection.register_forward_hook(likelier_end)
    sample = _sample(d)
    batch_sizes = []
    real_reorder = model.encoder.reorder_encoder_out

    def spy(encoder_out, new_order):
        batch_sizes.append(new_order.numel())
        return real_reorder(encoder_out, new_order)

    monkeypatch.setattr(model.encoder, "reorder_encoder_out", spy)
    shared = _generate(model, d, sample, beam=3)
    assert len(set(batch_sizes)) > 1, "no sentence finished early: the test would not cover a shrinking batch"
    monkeypatch.setattr(lite_transformer_encoder, "copies_per_sentence", lambda new_order, sentences: 1)
    separate = _generate(model, d, sample, beam=3)
    for ours, theirs in zip(shared, separate):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert torch.equal(a["tokens"], b["tokens"])
            torch.testing.assert_close(a["score"], b["score"], atol=1e-5, rtol=0)
            torch.testing.assert_close(a["attention"], b["attention"], atol=1e-5, rtol=0)


def test_greedy_search_and_training_after_a_beam_search_do_not_inherit_the_beam():
    d = make_dictionary()
    model = build_model("lite_transformer_tiny", MIXED, dictionary=d).eval()
    fresh = copy.deepcopy(model)
    sample = _sample(d)
    _generate(model, d, sample, beam=4)
    for ours, theirs in zip(_generate(model, d, sample, beam=1), _generate(fresh, d, sample, beam=1)):
        assert torch.equal(ours[0]["tokens"], theirs[0]["tokens"])
    net_input = sample["net_input"]
    prev = random_tokens(d, net_input["src_tokens"].size(0), 6, torch.Generator().manual_seed(0))
    _generate(model, d, sample, beam=4)
    model.train()
    fresh.train()
    torch.manual_seed(0)
    ours, _ = model(net_input["src_tokens"], net_input["src_lengths"], prev)
    torch.manual_seed(0)
    theirs, _ = fresh(net_input["src_tokens"], net_input["src_lengths"], prev)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


@pytest.mark.parametrize("arch, args", [("lite_transformer_tiny", ["--decoder-ende-attn-layers", "2"]),
                                        ("transformer_paper_iwslt_128", [])])
@pytest.mark.parametrize("beam", [1, 4])
def test_executed_mult_adds_are_what_a_translation_executes(monkeypatch, arch, args, beam):
    """The Mult-Adds the speed benchmarks divide by: Lite's beam shares the encoder keys' projections (counted once
    per sentence), fairseq's Transformer projects them per hypothesis; counted here over a real translation (module
    by module: the fast paths off, so that every product runs inside the module it belongs to)."""
    from lite_fairseq.profiler import latency
    from lite_fairseq.profiler.building import build
    from lite_fairseq.profiler.counting import MacCounter

    monkeypatch.setattr(fast_step, "ENABLED", False)
    built = build(arch, args, src_vocab=300)
    src = random_tokens(built.src_dict, 1, 9, torch.Generator().manual_seed(0))
    with torch.no_grad(), MacCounter(built.model) as counter:
        latency.translate.__wrapped__(built, src, 7, beam)
    counted = sum(macs for side in counter.macs.values() for part, macs in side.items() if part != "embeddings")
    assert counted == latency.executed_macs(built, 9, 7, beam)
