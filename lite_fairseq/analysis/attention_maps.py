"""Encoder self-attention maps of a trained translation model, and how much attention sits near the diagonal.

    python -m lite_fairseq.analysis.attention_maps CHECKPOINT DATA_BIN --sentence "Ein kleines Werkzeug." \\
        --bpe-codes WORK/tok/codes --lang de --png maps.png [--subset valid --max-sentences 200] [--json out.json]

For each encoder layer and head it draws the self-attention matrix of one sentence (rows: queries, columns: keys)
into one PNG, and it prints the *diagonal mass*: the attention weight a query gives to keys within +-2 positions
of itself, averaged over queries, heads and layers (and over the sentences of ``--subset`` when given; padding
excluded). A head that only looks at its neighbours scores 1; uniform attention over T tokens scores about 5/T,
which is printed beside it as the chance level.

For a Lite Transformer the maps are those of the attention branches of each LSRA layer
(``encoder.layers[i].self_attn.branches[j]`` that are attention), for fairseq's transformer those of
``encoder.layers[i].self_attn``: fairseq ``MultiheadAttention`` modules, called as the model calls them, with
``need_weights=True, need_head_weights=True`` added.

Sentences: ``--sentence`` is raw text, Moses-normalised and tokenised (sacremoses, ``--lang``) and split with the
subword-nmt ``--bpe-codes`` when given, else taken as already tokenised BPE text. ``--subset`` reads binarised
sentences of DATA_BIN instead.
"""

import argparse
import contextlib
import json
import sys
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor


def diagonal_mass(attn: Tensor, width: int = 2, key_padding_mask: Optional[Tensor] = None) -> Tensor:
    """Mean attention mass within ``width`` positions of the diagonal.

    attn: [..., T, S] attention weights (rows: queries); key_padding_mask: [T] or [S] bool, True at padding
    (T == S: self-attention), padded queries are left out of the mean. Returns a tensor of shape ``attn.shape[:-2]``.
    """
    if attn.dim() < 2:
        raise ValueError(f"attention must have at least 2 dimensions, got shape {tuple(attn.shape)}")
    t, s = attn.shape[-2:]
    i = torch.arange(t).unsqueeze(1)
    j = torch.arange(s).unsqueeze(0)
    near = ((i - j).abs() <= width).to(attn.dtype)
    per_query = (attn * near).sum(-1)  # [..., T]
    if key_padding_mask is None:
        return per_query.mean(-1)
    keep = (~key_padding_mask[:t]).to(attn.dtype)
    return (per_query * keep).sum(-1) / keep.sum()


def uniform_diagonal_mass(length: int, width: int = 2) -> float:
    """Diagonal mass of uniform attention over ``length`` tokens: the chance level for that length."""
    return float(diagonal_mass(torch.full((length, length), 1.0 / length), width))


def attention_modules(model) -> List[List[torch.nn.Module]]:
    """The self-attention modules of each encoder layer: [layer][branch] (one entry per layer for a Transformer)."""
    from fairseq.modules import MultiheadAttention

    from lite_fairseq.modules import LongShortRangeAttention

    layers = []
    for layer in model.encoder.layers:
        attn = layer.self_attn
        if isinstance(attn, MultiheadAttention):
            layers.append([attn])
        elif isinstance(attn, LongShortRangeAttention):  # keep the attention branches
            layers.append([b for b in attn.branches if isinstance(b, MultiheadAttention)])
        else:
            raise TypeError(f"unknown encoder self-attention module {type(attn).__name__}")
        if not layers[-1]:
            raise ValueError("an encoder layer has no attention branch (all-convolution LSRA?)")
    return layers


@contextlib.contextmanager
def _record_head_weights(modules: Sequence[torch.nn.Module], store: Dict[int, Tensor]):
    """While active, each module's forward is asked for per-head weights, which are stored by module index."""
    from lite_fairseq.modules import module_path

    handles = []
    for k, module in enumerate(modules):
        def pre_hook(mod, args, kwargs):
            kwargs = dict(kwargs)
            kwargs["need_weights"] = True
            kwargs["need_head_weights"] = True
            return args, kwargs

        def hook(mod, args, kwargs, output, k=k):
            store[k] = output[1].detach()  # heads x batch x T x S

        handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(hook, with_kwargs=True))
    try:
        # fairseq's fused path averages the heads; its step-by-step path keeps them (same arithmetic)
        with module_path(modules):
            yield
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def encoder_self_attention(model, src_tokens: Tensor, src_lengths: Tensor) -> List[Tensor]:
    """Per encoder layer, the self-attention weights [heads, batch, T, T] (the heads of all attention branches
    of an LSRA layer concatenated)."""
    model.eval()
    per_layer = attention_modules(model)
    flat = [m for layer in per_layer for m in layer]
    store: Dict[int, Tensor] = {}
    with _record_head_weights(flat, store):
        model.encoder(src_tokens, src_lengths=src_lengths)
    if len(store) != len(flat):
        raise RuntimeError(f"captured {len(store)} of {len(flat)} attention modules: the encoder did not call them")
    out, k = [], 0
    for layer in per_layer:
        out.append(torch.cat([store[k + b] for b in range(len(layer))], dim=0))
        k += len(layer)
    return out


def model_diagonal_mass(maps: List[Tensor], key_padding_mask: Tensor, width: int = 2) -> Dict[str, object]:
    """Diagonal mass per layer and head (averaged over the batch's sentences) and overall, from
    :func:`encoder_self_attention` output; key_padding_mask: batch x T."""
    per_layer = []
    for m in maps:  # heads x batch x T x T
        per_sentence = torch.stack([diagonal_mass(m[:, b], width, key_padding_mask[b]) for b in range(m.shape[1])],
                                   dim=1)  # heads x batch
        per_layer.append(per_sentence)
    return {"per_layer_head": [[float(v) for v in layer.mean(1)] for layer in per_layer],
            "per_layer": [float(layer.mean()) for layer in per_layer],
            "mean": float(torch.stack([layer.mean() for layer in per_layer]).mean())}


def render(maps: List[Tensor], tokens: Sequence[str], path: str, title: str = "") -> None:
    """Draw the maps of sentence 0 ([heads, batch, T, T] per layer) as a layers x heads grid PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_layers = len(maps)
    n_heads = max(m.shape[0] for m in maps)
    t = len(tokens)
    cell = max(1.6, min(4.0, 0.16 * t))
    fig, axes = plt.subplots(n_layers, n_heads, figsize=(cell * n_heads + 0.5, cell * n_layers + 0.8), squeeze=False)
    for li, m in enumerate(maps):
        for h in range(n_heads):
            ax = axes[li][h]
            if h >= m.shape[0]:
                ax.axis("off")
                continue
            a = m[h, 0, :t, :t].float().numpy()
            ax.imshow(a, cmap="viridis", vmin=0.0, vmax=max(float(a.max()), 1e-6), interpolation="nearest")
            ax.set_title(f"layer {li + 1} head {h + 1} (diag {float(diagonal_mass(m[h, 0, :t, :t])):.2f})",
                         fontsize=7)
            show_labels = t <= 40
            ax.set_xticks(range(t) if show_labels else [])
            ax.set_yticks(range(t) if show_labels and h == 0 else [])
            if show_labels:
                ax.set_xticklabels(tokens, rotation=90, fontsize=5)
                if h == 0:
                    ax.set_yticklabels(tokens, fontsize=5)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _encode_sentence(text: str, bpe_codes: Optional[str], lang: Optional[str]) -> List[str]:
    if bpe_codes:
        from sacremoses import MosesPunctNormalizer, MosesTokenizer
        from subword_nmt.apply_bpe import BPE

        tok = MosesTokenizer(lang=lang).tokenize(MosesPunctNormalizer(lang=lang).normalize(text.strip()),
                                                 return_str=True, escape=False)
        with open(bpe_codes, encoding="utf-8") as f:
            text = BPE(f).process_line(tok)
    return text.split()


def load(checkpoint: str, data_bin: str):
    """Load a fairseq translation checkpoint (ours or fairseq's transformer) with its task, on CPU."""
    import lite_fairseq  # noqa: F401  (registers the models; installs the safe checkpoint loader)
    from fairseq import checkpoint_utils

    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], arg_overrides={"data": data_bin})
    return models[0].eval(), cfg, task


def _batch_from_token_lists(sentences: List[List[int]], pad: int):
    lengths = torch.tensor([len(s) for s in sentences])
    tokens = torch.full((len(sentences), int(lengths.max())), pad, dtype=torch.long)
    for b, s in enumerate(sentences):
        tokens[b, :len(s)] = torch.tensor(s)  # right padding (the model reads key_padding_mask)
    return tokens, lengths


def run(checkpoint: str, data_bin: str, sentence: Optional[str], png: Optional[str], bpe_codes: Optional[str] = None,
        lang: Optional[str] = None, subset: Optional[str] = None, max_sentences: int = 200, width: int = 2,
        model=None, task=None) -> Dict[str, object]:
    """The command's work, callable from Python (pass ``model`` and ``task`` to skip loading a checkpoint)."""
    if model is None:
        model, _, task = load(checkpoint, data_bin)
    src_dict = task.source_dictionary
    result: Dict[str, object] = {"checkpoint": checkpoint, "width": width}
    if sentence is not None:
        if lang is None and bpe_codes:
            lang = getattr(getattr(task, "cfg", None), "source_lang", None) or "en"
        pieces = _encode_sentence(sentence, bpe_codes, lang)
        ids = [src_dict.index(p) for p in pieces] + [src_dict.eos()]
        tokens, lengths = _batch_from_token_lists([ids], src_dict.pad())
        maps = encoder_self_attention(model, tokens, lengths)
        mass = model_diagonal_mass(maps, tokens.eq(src_dict.pad()), width)
        result["sentence"] = {"tokens": pieces + ["</s>"], **mass, "chance": uniform_diagonal_mass(len(ids), width)}
        if png:
            render(maps, pieces + ["</s>"], png,
                   title=f"{type(model).__name__}: encoder self-attention, diagonal mass (+-{width}) "
                         f"{mass['mean']:.3f} (uniform {result['sentence']['chance']:.3f})")
            result["png"] = png
    if subset:
        task.load_dataset(subset)
        dataset = task.dataset(subset)
        n = min(max_sentences, len(dataset))
        sums, chance, count = None, 0.0, 0
        for start in range(0, n, 16):
            items = [dataset[i]["source"].tolist() for i in range(start, min(n, start + 16))]
            tokens, lengths = _batch_from_token_lists(items, src_dict.pad())
            maps = encoder_self_attention(model, tokens, lengths)
            mass = model_diagonal_mass(maps, tokens.eq(src_dict.pad()), width)
            k = len(items)
            vals = torch.tensor(mass["per_layer_head"]) * k
            sums = vals if sums is None else sums + vals
            chance += sum(uniform_diagonal_mass(len(s), width) for s in items)
            count += k
        per = sums / count
        result["subset"] = {"name": subset, "sentences": count, "per_layer_head": per.tolist(),
                            "per_layer": per.mean(1).tolist(), "mean": float(per.mean()), "chance": chance / count}
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lite_fairseq.analysis.attention_maps", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("data_bin", help="the fairseq data-bin directory the model was trained on (dictionaries)")
    p.add_argument("--sentence", help="source sentence to draw (raw text with --bpe-codes, else BPE text)")
    p.add_argument("--bpe-codes", help="subword-nmt codes: tokenise (sacremoses) and BPE-split --sentence")
    p.add_argument("--lang", help="source language for the Moses tokeniser (default: the task's)")
    p.add_argument("--png", help="write the maps of --sentence here")
    p.add_argument("--subset", help="also average the diagonal mass over this binarised subset (e.g. valid)")
    p.add_argument("--max-sentences", type=int, default=200, help="sentences of --subset (its first ones)")
    p.add_argument("--width", type=int, default=2, help="the diagonal band: |query - key| <= width")
    p.add_argument("--json", help="write the numbers here as JSON")
    a = p.parse_args(argv)
    if a.sentence is None and a.subset is None:
        p.error("give --sentence and/or --subset")
    if a.png and a.sentence is None:
        p.error("--png needs --sentence")
    res = run(a.checkpoint, a.data_bin, a.sentence, a.png, a.bpe_codes, a.lang, a.subset, a.max_sentences, a.width)
    for key in ("sentence", "subset"):
        if key in res:
            r = res[key]
            layers = " ".join(f"{v:.3f}" for v in r["per_layer"])
            print(f"{key}: diagonal mass (+-{a.width}) {r['mean']:.3f}  per layer {layers}  uniform {r['chance']:.3f}")
    if "png" in res:
        print(f"wrote {res['png']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
