"""Synthetic checkpoints in the authors' format (mit-han-lab/lite-transformer, ``transformer_multibranch_v2``) and
an independent reference forward pass computed straight from their parameters.

Nothing here uses lite_fairseq: the parameter names, shapes and the computation follow the authors' model as
their repository describes it (an old-fairseq ``args`` Namespace; ``self_attn.branches.{i}`` of a MultiBranch,
attention branches with q/k/v/out projections, convolution branches with ``linear1`` (GLU doubling it for
dynamic branches), ``weight_linear`` (dynamic, no bias) or ``weight`` of shape (H, 1, K) (lightweight), and
``linear2``; post- or pre-norm layer norms ``self_attn_layer_norm`` / ``encoder_attn_layer_norm`` /
``final_layer_norm``; ``fc1``/``fc2``; ``embed_out`` unless embeddings are shared; sinusoidal positions).
The forward pass is written out with plain tensor operations for unpadded inputs.
"""

import argparse
import math

import torch
import torch.nn.functional as F

PAD = 1


def authors_args(**overrides):
    """The args the authors' trainer saves (their add_args defaults + an architecture), with overrides."""
    args = dict(
        arch="transformer_multibranch_v2_wmt_en_de", task="translation", data="data-bin/wmt14_en_fr",
        source_lang="src", target_lang="tgt", criterion="label_smoothed_cross_entropy", optimizer="adam",
        encoder_embed_dim=32, encoder_ffn_embed_dim=32, encoder_layers=2, encoder_attention_heads=8,
        decoder_embed_dim=32, decoder_ffn_embed_dim=32, decoder_layers=2, decoder_attention_heads=4,
        encoder_normalize_before=False, decoder_normalize_before=False, encoder_learned_pos=False,
        decoder_learned_pos=False, dropout=0.1, attention_dropout=0.08, activation_dropout=0.0,
        relu_dropout=0.0, weight_dropout=0.08, activation_fn="relu", weight_softmax=True,
        encoder_glu=True, decoder_glu=True, conv_linear=True,
        encoder_branch_type=["attn:1:16:4", "dynamic:default:16:4"],
        decoder_branch_type=["attn:1:16:4", "dynamic:default:16:4"], encoder_decoder_branch_type=None,
        encoder_kernel_size_list=[3, 7, 15, 31, 31, 31, 31], decoder_kernel_size_list=[3, 7, 15, 31, 31, 31, 31],
        encoder_ffn_list=[True], decoder_ffn_list=[True], share_all_embeddings=True,
        share_decoder_input_output_embed=True, no_token_positional_embeddings=False,
        adaptive_softmax_cutoff=None, adaptive_softmax_dropout=0, adaptive_input=False, tie_adaptive_weights=None,
        max_source_positions=1024, max_target_positions=1024, ffn_init=None, input_dropout=0.1,
        left_pad_source="True", left_pad_target="False", fp16=False, ddp_backend="no_c10d", update_freq=[16],
    )
    args.update(overrides)
    return argparse.Namespace(**args)


def _branches(args, side, index):
    """(kind, dim, heads, kernel) per branch, the way the authors' layers read their branch-type option."""
    types = getattr(args, f"{side}_branch_type")
    kernels = getattr(args, f"{side}_kernel_size_list")
    kernels = kernels * getattr(args, f"{side}_layers") if len(kernels) == 1 else kernels
    if types is None:
        d = getattr(args, f"{side}_embed_dim")
        return [("attn", d, getattr(args, f"{side}_attention_heads"), None)]
    out = []
    for text in types:
        kind, kernel, dim, heads = text.split(":")
        k = kernels[index] if kernel == "default" else int(kernel)
        out.append((kind, int(dim), int(heads), None if kind == "attn" else k))
    return out


def _attention_params(g, prefix, dim, kdim=None, in_proj=False):
    kdim = kdim or dim
    p = {}
    if in_proj:
        p[f"{prefix}.in_proj_weight"] = g(3 * dim, dim)
        p[f"{prefix}.in_proj_bias"] = g(3 * dim)
    else:
        for name, fan_in in (("q_proj", dim), ("k_proj", kdim), ("v_proj", kdim)):
            p[f"{prefix}.{name}.weight"] = g(dim, fan_in)
            p[f"{prefix}.{name}.bias"] = g(dim)
    p[f"{prefix}.out_proj.weight"] = g(dim, dim)
    p[f"{prefix}.out_proj.bias"] = g(dim)
    return p


def _norm_params(g, prefix, dim):
    return {f"{prefix}.weight": 1 + 0.1 * g(dim), f"{prefix}.bias": 0.1 * g(dim)}


def authors_state_dict(args, vocab, seed=0, lightweight_weight_3d=True, in_proj_encoder_attn=False):
    """Random parameters under the authors' names and shapes."""
    gen = torch.Generator().manual_seed(seed)

    def g(*shape):
        fan = shape[-1] if len(shape) > 1 else 4
        return torch.randn(*shape, generator=gen) / math.sqrt(fan)

    sd = {}
    for side in ("encoder", "decoder"):
        d = getattr(args, f"{side}_embed_dim")
        ffn = getattr(args, f"{side}_ffn_embed_dim")
        if side == "encoder" or not args.share_all_embeddings:
            emb = g(vocab, d) * 2
            emb[PAD] = 0
            sd[f"{side}.embed_tokens.weight"] = emb
        else:
            sd["decoder.embed_tokens.weight"] = sd["encoder.embed_tokens.weight"]
        sd[f"{side}.version"] = torch.Tensor([3])
        sd[f"{side}.embed_positions._float_tensor"] = torch.FloatTensor(1)
        for i in range(getattr(args, f"{side}_layers")):
            p = f"{side}.layers.{i}"
            branches = _branches(args, side, i)
            if getattr(args, f"{side}_branch_type") is None:
                sd.update(_attention_params(g, f"{p}.self_attn", d))
            for j, (kind, dim, heads, k) in enumerate(branches):
                b = f"{p}.self_attn.branches.{j}"
                if kind == "attn":
                    if getattr(args, f"{side}_branch_type") is not None:
                        sd.update(_attention_params(g, b, dim))
                    continue
                glu = kind == "dynamic" and bool(getattr(args, f"{side}_glu"))
                sd[f"{b}.linear1.weight"] = g(2 * dim if glu else dim, dim)
                sd[f"{b}.linear1.bias"] = g(2 * dim if glu else dim)
                sd[f"{b}.linear2.weight"] = g(dim, dim)
                sd[f"{b}.linear2.bias"] = g(dim)
                if kind == "dynamic":
                    sd[f"{b}.weight_linear.weight"] = g(heads * k, dim) * 3
                else:
                    w = g(heads, k) * 3
                    sd[f"{b}.weight"] = w.view(heads, 1, k) if lightweight_weight_3d else w
            sd.update(_norm_params(g, f"{p}.self_attn_layer_norm", d))
            if side == "decoder":
                sd.update(_attention_params(g, f"{p}.encoder_attn", d, args.encoder_embed_dim,
                                            in_proj=in_proj_encoder_attn))
                sd.update(_norm_params(g, f"{p}.encoder_attn_layer_norm", d))
            sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"] = g(ffn, d), g(ffn)
            sd[f"{p}.fc2.weight"], sd[f"{p}.fc2.bias"] = g(d, ffn), g(d)
            sd.update(_norm_params(g, f"{p}.final_layer_norm", d))
        if getattr(args, f"{side}_normalize_before"):
            sd.update(_norm_params(g, f"{side}.layer_norm", d))
    if not args.share_all_embeddings and not args.share_decoder_input_output_embed:
        sd["decoder.embed_out"] = g(vocab, args.decoder_embed_dim)
    return sd


def authors_checkpoint(args, sd):
    """The file layout of the authors' (old fairseq) trainer."""
    return {
        "args": args, "model": sd,
        "optimizer_history": [{"criterion_name": "LabelSmoothedCrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {"best": 3.25}, "num_updates": 50000}],
        "extra_state": {"epoch": 31, "val_loss": 3.25, "train_iterator": {"epoch": 31, "iterations_in_epoch": 0}},
        "last_optimizer_state": {"state": {}, "param_groups": [{"lr": 1e-7}]},
    }


# ------------------------------------------------------------------------------------------------------------
# reference forward pass


def _sinusoids(length, dim):
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000.0) / (half - 1)))
    pos = torch.arange(PAD + 1, PAD + 1 + length, dtype=torch.float)[:, None] * freq[None]
    table = torch.cat([torch.sin(pos), torch.cos(pos)], dim=1)
    if dim % 2:
        table = torch.cat([table, torch.zeros(length, 1)], dim=1)
    return table  # T x dim


def _layer_norm(sd, prefix, x):
    return F.layer_norm(x, x.shape[-1:], sd[f"{prefix}.weight"], sd[f"{prefix}.bias"], eps=1e-5)


def _proj(sd, prefix, name, x):
    if f"{prefix}.{name}.weight" in sd:
        return F.linear(x, sd[f"{prefix}.{name}.weight"], sd[f"{prefix}.{name}.bias"])
    i = ("q_proj", "k_proj", "v_proj").index(name)
    w, b = sd[f"{prefix}.in_proj_weight"].chunk(3)[i], sd[f"{prefix}.in_proj_bias"].chunk(3)[i]
    return F.linear(x, w, b)


def _attention(sd, prefix, query, keys, heads, causal):
    T, B, D = query.shape
    S = keys.shape[0]
    hd = D // heads
    q = _proj(sd, prefix, "q_proj", query) * hd ** -0.5
    k = _proj(sd, prefix, "k_proj", keys)
    v = _proj(sd, prefix, "v_proj", keys)
    q = q.reshape(T, B, heads, hd).permute(1, 2, 0, 3)
    k = k.reshape(S, B, heads, hd).permute(1, 2, 0, 3)
    v = v.reshape(S, B, heads, hd).permute(1, 2, 0, 3)
    scores = q @ k.transpose(-1, -2)
    if causal:
        scores = scores + torch.triu(torch.full((T, S), float("-inf")), 1)
    out = (scores.softmax(-1) @ v).permute(2, 0, 1, 3).reshape(T, B, D)
    return F.linear(out, sd[f"{prefix}.out_proj.weight"], sd[f"{prefix}.out_proj.bias"])


def _conv_branch(sd, prefix, x, kind, heads, k, glu, causal, weight_softmax):
    x = F.linear(x, sd[f"{prefix}.linear1.weight"], sd[f"{prefix}.linear1.bias"])
    if glu:
        a, b = x.chunk(2, dim=-1)
        x = a * torch.sigmoid(b)
    T, B, C = x.shape
    if kind == "dynamic":
        w = F.linear(x, sd[f"{prefix}.weight_linear.weight"]).view(T, B, heads, k)
    else:
        w = sd[f"{prefix}.weight"].reshape(heads, k).expand(T, B, heads, k)
    if weight_softmax:
        w = w.softmax(-1)
    left = k - 1 if causal else k // 2
    padded = torch.cat([x.new_zeros(left, B, C), x, x.new_zeros(k - 1 - left, B, C)], dim=0)
    out = torch.zeros_like(x)
    per_head = C // heads
    for t in range(T):
        window = padded[t:t + k]  # K x B x C
        for h in range(heads):
            cs = slice(h * per_head, (h + 1) * per_head)
            out[t, :, cs] = torch.einsum("kbc,bk->bc", window[:, :, cs], w[t, :, h])
    return F.linear(out, sd[f"{prefix}.linear2.weight"], sd[f"{prefix}.linear2.bias"])


def _block(sd, prefix, x, fn, pre):
    residual = x
    x = fn(_layer_norm(sd, prefix, x) if pre else x)
    x = residual + x
    return x if pre else _layer_norm(sd, prefix, x)


def _self_branches(sd, args, side, index, x):
    outs, start = [], 0
    causal = side == "decoder"
    plain = getattr(args, f"{side}_branch_type") is None
    for j, (kind, dim, heads, k) in enumerate(_branches(args, side, index)):
        part = x[..., start:start + dim]
        start += dim
        prefix = f"{side}.layers.{index}.self_attn" + ("" if plain else f".branches.{j}")
        if kind == "attn":
            outs.append(_attention(sd, prefix, part, part, heads, causal))
        else:
            glu = kind == "dynamic" and bool(getattr(args, f"{side}_glu"))
            outs.append(_conv_branch(sd, prefix, part, kind, heads, k, glu, causal, args.weight_softmax))
    return torch.cat(outs, dim=-1)


def _ffn(sd, p, x):
    return F.linear(F.relu(F.linear(x, sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"])),
                    sd[f"{p}.fc2.weight"], sd[f"{p}.fc2.bias"])


def reference_forward(args, sd, src_tokens, prev_tokens):
    """Decoder logits (B x T x V) of the authors' model for unpadded token batches, in eval mode."""
    with torch.no_grad():
        def embed(side, tokens):
            d = getattr(args, f"{side}_embed_dim")
            x = math.sqrt(d) * F.embedding(tokens, sd[f"{side}.embed_tokens.weight"])
            x = x + _sinusoids(tokens.shape[1], d)[None]
            return x.transpose(0, 1)

        pre = args.encoder_normalize_before
        x = embed("encoder", src_tokens)
        for i in range(args.encoder_layers):
            p = f"encoder.layers.{i}"
            x = _block(sd, f"{p}.self_attn_layer_norm", x, lambda h: _self_branches(sd, args, "encoder", i, h), pre)
            x = _block(sd, f"{p}.final_layer_norm", x, lambda h: _ffn(sd, p, h), pre)
        if pre:
            x = _layer_norm(sd, "encoder.layer_norm", x)
        enc = x

        pre = args.decoder_normalize_before
        y = embed("decoder", prev_tokens)
        for i in range(args.decoder_layers):
            p = f"decoder.layers.{i}"
            y = _block(sd, f"{p}.self_attn_layer_norm", y, lambda h: _self_branches(sd, args, "decoder", i, h), pre)
            y = _block(sd, f"{p}.encoder_attn_layer_norm", y,
                       lambda h: _attention(sd, f"{p}.encoder_attn", h, enc, args.decoder_attention_heads, False), pre)
            y = _block(sd, f"{p}.final_layer_norm", y, lambda h: _ffn(sd, p, h), pre)
        if pre:
            y = _layer_norm(sd, "decoder.layer_norm", y)
        out_w = sd["decoder.embed_out"] if "decoder.embed_out" in sd else sd["decoder.embed_tokens.weight"]
        return F.linear(y.transpose(0, 1), out_w)
