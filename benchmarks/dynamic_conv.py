"""Benchmark the dynamic-convolution paths: time, speed ratios and achieved memory bandwidth.

Two tables per dtype:

* layer: one dynamic-convolution layer as fairseq runs it in training (time-major x, kernel logits from a linear
  map of x, softmax over the taps, DropConnect p=0.1, the convolution), forward and forward+backward, for
  fairseq's PyTorch paths (``DynamicConv1dTBC._forward_unfolded`` and ``_forward_expanded``), fairseq's
  ``dynamicconv_cuda`` layer when that extension is importable, our PyTorch path and our Triton kernel. All use
  the same linear weights; ratios are against fairseq's unfold path (its default for training without the
  extension) and against the fairseq CUDA layer.
* kernel: the convolution alone on contiguous B x C x T / B x H x K x T tensors, with the bytes it must move
  at the least (read x and the weights, write the output) divided by its forward time, against the measured
  device-to-device copy bandwidth.

    python benchmarks/dynamic_conv.py            # on a GPU: the paper's shapes, float32 and float16
    python benchmarks/dynamic_conv.py --cpu      # CPU: our public functions against fairseq's CPU paths
    python benchmarks/dynamic_conv.py --cpu --kinds dynamic --cases 3,4 --candidates   # a part, every path

On the CPU ``--candidates`` adds each of our paths forced (``ours band`` / ``chunked`` / ``shift``: from the
logits, softmax and DropConnect fused into the band paths) and ``ours unfused band`` (``F.softmax``,
``F.dropout``, then the band path on the weights: the code before the fusion), all in the same interleaved rounds.

fairseq's classes are optional imports: a path whose import fails is reported as missing, not timed.
"""

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from lite_fairseq.kernels import dynamic_conv, dynamic_conv_from_logits, lightweight_conv, triton_available

WEIGHT_DROPOUT = 0.1
# (name, B, T, C, H, K, padding_l): translation shapes at about 4096 tokens per batch, and the LM's K=63
GPU_CASES = [
    ("wmt-enc K3", 128, 32, 248, 4, 3, 1),
    ("wmt-enc K7", 128, 32, 248, 4, 7, 3),
    ("wmt-enc K15", 128, 32, 248, 4, 15, 7),
    ("wmt-enc K31", 128, 32, 248, 4, 31, 15),
    ("wmt-dec K31", 128, 32, 248, 4, 31, 30),
    ("lm K63", 8, 512, 448, 4, 63, 62),
]
# kernel table only: one larger tensor, where launch overheads no longer hide the memory system
KERNEL_EXTRA_CASES = [("large K31", 32, 1024, 1024, 16, 31, 15)]
# CPU: the paper's shapes at about 4096 tokens per batch (encoder centred, LM causal)
CPU_CASES = [
    ("wmt-enc K3", 128, 32, 248, 4, 3, 1),
    ("wmt-enc K15", 128, 32, 248, 4, 15, 7),
    ("wmt-enc K31", 128, 32, 248, 4, 31, 15),
    ("wmt-enc K31 T128", 32, 128, 248, 4, 31, 15),
    ("lm K63", 8, 512, 448, 4, 63, 62),
]


def _fairseq_modules():
    mods = {}
    try:
        from fairseq.modules.dynamic_convolution import DynamicConv1dTBC

        mods["tbc"] = DynamicConv1dTBC
    except Exception as err:  # noqa: BLE001 - report any import failure and go on
        print(f"# fairseq DynamicConv1dTBC unavailable: {type(err).__name__}: {err}")
    try:
        from fairseq.modules.dynamicconv_layer.dynamicconv_layer import DynamicconvLayer

        mods["cuda_layer"] = DynamicconvLayer
        import dynamicconv_cuda

        mods["cuda_ext"] = dynamicconv_cuda
    except Exception as err:  # noqa: BLE001
        print(f"# fairseq dynamicconv_cuda unavailable: {type(err).__name__}: {err}")
    return mods


class Timer:
    def __init__(self, device, reps):
        self.device, self.reps = device, reps

    def __call__(self, fn) -> float:
        """Median time of fn in milliseconds."""
        if self.device == "cuda":
            import triton.testing

            return triton.testing.do_bench(fn, warmup=25, rep=self.reps, return_mode="median")
        for _ in range(3):
            fn()
        times = []
        for _ in range(max(5, self.reps // 5)):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)

    def graph(self, fn) -> float:
        """Median time in ms of fn replayed from a CUDA graph (no CPU launch overhead); NaN off the GPU or if
        fn cannot be captured."""
        if self.device != "cuda":
            return float("nan")
        import triton.testing

        try:
            return triton.testing.do_bench_cudagraph(fn, rep=self.reps, return_mode="median")
        except Exception as err:  # noqa: BLE001 - some paths cannot be captured
            print(f"# graph capture failed: {type(err).__name__}: {str(err)[:100]}")
            torch.cuda.synchronize()
            return float("nan")


def _layer_paths(mods, case, dtype, device):
    _, B, T, C, H, K, P = case
    linear = torch.nn.Linear(C, H * K, bias=False).to(device, dtype)
    paths = {}

    def ours(backend):
        def run(x):
            logits = F.linear(x, linear.weight).view(T, B, H, K).permute(1, 2, 3, 0)
            out = dynamic_conv_from_logits(x.permute(1, 2, 0), logits, P, WEIGHT_DROPOUT, True, backend=backend)
            return out.permute(2, 0, 1)

        return run

    if "tbc" in mods:
        m = mods["tbc"](C, kernel_size=K, padding_l=P, weight_softmax=True, num_heads=H,
                        weight_dropout=WEIGHT_DROPOUT).to(device, dtype).train()
        m.weight_linear.weight = linear.weight
        paths["fairseq unfold"] = lambda x: m._forward_unfolded(x, None, x)
        paths["fairseq expanded"] = lambda x: m._forward_expanded(x, None, x)
    if "cuda_layer" in mods and device == "cuda":
        cl = mods["cuda_layer"](C, kernel_size=K, padding_l=P, weight_softmax=True, num_heads=H,
                                weight_dropout=WEIGHT_DROPOUT).to(device, dtype).train()
        cl.weight_linear.weight = linear.weight
        paths["fairseq cuda"] = lambda x: cl(x)
    paths["ours torch"] = ours("torch")
    if device == "cuda" and triton_available():
        paths["ours triton"] = ours("triton")
    return paths


def bench_layer(mods, cases, dtype, device, timer):
    print(f"\n## layer ({dtype}, weight dropout {WEIGHT_DROPOUT}, training): time in ms (median)")
    rows = []
    for case in cases:
        name, B, T, C, H, K, P = case
        x = torch.randn(T, B, C, device=device, dtype=dtype, requires_grad=True)
        g = torch.randn(T, B, C, device=device, dtype=dtype)
        for pname, fn in _layer_paths(mods, case, dtype, device).items():
            try:
                fwd = timer(lambda: fn(x))
                fb = timer(lambda: fn(x).backward(g))
                gfb = float("nan")  # torch's dropout RNG cannot be replayed from a captured graph here
            except Exception as err:  # noqa: BLE001 - e.g. an unsupported K in the fairseq extension
                print(f"# {name} {pname}: failed: {type(err).__name__}: {str(err)[:120]}")
                continue
            rows.append((name, pname, fwd, fb, gfb))
    base = {(r[0], r[1]): r for r in rows}
    print("| case | path | fwd ms | fwd+bwd ms | fwd+bwd speed-up vs fairseq unfold | vs fairseq cuda |")
    print("|---|---|---|---|---|---|")

    def ratio(ref, fb, gfb):
        if ref is None:
            return "-"
        return f"{ref[3] / fb:.2f}x"

    for name, pname, fwd, fb, gfb in rows:
        print(f"| {name} | {pname} | {fwd:.4f} | {fb:.4f} | "
              f"{ratio(base.get((name, 'fairseq unfold')), fb, gfb)} | "
              f"{ratio(base.get((name, 'fairseq cuda')), fb, gfb)} |")
    return rows


def copy_bandwidth(device, timer):
    n = 1 << 28  # 1 GiB of float32
    a = torch.randn(n, device=device)
    b = torch.empty_like(a)
    ms = timer(lambda: b.copy_(a))
    return 2 * a.numel() * a.element_size() / (ms * 1e-3) / 1e9


def bench_kernel(mods, cases, dtype, device, timer, copy_gbs):
    print(f"\n## kernel alone ({dtype}, forward): minimal bytes = read x + weights, write out")
    print(f"(device-to-device copy measured at {copy_gbs:.0f} GB/s, read + write)")
    print("| case | path | fwd ms eager | fwd ms graph | GB/s (graph) | % of copy bandwidth |")
    print("|---|---|---|---|---|---|")
    for name, B, T, C, H, K, P in cases + KERNEL_EXTRA_CASES:
        x = torch.randn(B, C, T, device=device, dtype=dtype)
        logits = torch.randn(B, H, K, T, device=device, dtype=dtype)
        w = torch.softmax(logits.float(), dim=2).to(dtype)
        nbytes = (2 * x.numel() + w.numel()) * x.element_size()
        paths = {"ours torch (weights)": lambda: dynamic_conv(x, w, P, backend="torch")}
        if device == "cuda" and triton_available():
            paths["ours triton (weights)"] = lambda: dynamic_conv(x, w, P, backend="triton")
            paths["ours triton (logits, softmax fused)"] = lambda: dynamic_conv_from_logits(x, logits, P,
                                                                                              backend="triton")
        if "cuda_ext" in mods and device == "cuda":
            paths["fairseq dynamicconv_cuda (weights)"] = lambda: mods["cuda_ext"].forward(x, w, P)
        for pname, fn in paths.items():
            try:
                ms = timer(fn)
                gms = timer.graph(fn)
            except Exception as err:  # noqa: BLE001
                print(f"# {name} {pname}: failed: {type(err).__name__}: {str(err)[:120]}")
                continue
            gbs = nbytes / (gms * 1e-3) / 1e9
            print(f"| {name} | {pname} | {ms:.4f} | {gms:.4f} | {gbs:.0f} | {100 * gbs / copy_gbs:.0f}% |")


# ---------------------------------------------------------------------------------------------------------------
# CPU: one layer as fairseq runs it in training (T x B x C input, weight softmax, DropConnect p=0.1), our public
# functions against fairseq's DynamicConv1dTBC / LightweightConv1dTBC with unfold=False (band) and unfold=True.


def _cpu_paths(case, candidates, kinds=("dynamic", "lightweight")):
    """{(kind, path name): fn(x)} for one case; kind is "dynamic" or "lightweight"."""
    from fairseq.modules.dynamic_convolution import DynamicConv1dTBC
    from fairseq.modules.lightweight_convolution import LightweightConv1dTBC

    from lite_fairseq.kernels import conv_cpu
    from lite_fairseq.kernels.conv_cpu_logits import dynamic_conv_from_logits_cpu

    _, B, T, C, H, K, P = case
    dyn = DynamicConv1dTBC(C, kernel_size=K, padding_l=P, weight_softmax=True, num_heads=H,
                           weight_dropout=WEIGHT_DROPOUT).train()
    lw = LightweightConv1dTBC(C, kernel_size=K, padding_l=P, weight_softmax=True, num_heads=H,
                              weight_dropout=WEIGHT_DROPOUT).train()

    def ours_dyn(path=None):
        def run(x):
            logits = F.linear(x, dyn.weight_linear.weight).view(T, B, H, K).permute(1, 2, 3, 0)
            if path is None:
                out = dynamic_conv_from_logits(x.permute(1, 2, 0), logits, P, WEIGHT_DROPOUT, True, backend="torch")
            elif path.startswith("unfused "):  # softmax, F.dropout, then the path on the weights
                w = F.dropout(torch.softmax(logits, dim=2), WEIGHT_DROPOUT, True)
                out = conv_cpu.dynamic_conv_cpu(x.permute(1, 2, 0), w, P, path[len("unfused "):])
            else:
                out = dynamic_conv_from_logits_cpu(x.permute(1, 2, 0), logits, P, WEIGHT_DROPOUT, True, path)
            return out.permute(2, 0, 1)

        return run

    def ours_lw(path=None):
        def run(x):
            w = F.dropout(torch.softmax(lw.weight.view(H, K), dim=1), WEIGHT_DROPOUT, True)
            if path is None:
                out = lightweight_conv(x.permute(1, 2, 0), w, P, backend="torch")
            else:
                out = conv_cpu.lightweight_conv_cpu(x.permute(1, 2, 0), w, P, path)
            return out.permute(2, 0, 1)

        return run

    paths = {
        ("dynamic", "fairseq unfold=False"): lambda x: dyn(x, unfold=False),
        ("dynamic", "fairseq unfold=True"): lambda x: dyn(x, unfold=True),
        ("dynamic", "ours"): ours_dyn(),
        ("lightweight", "fairseq unfold=False"): lambda x: lw(x, unfold=False),
        ("lightweight", "fairseq unfold=True"): lambda x: lw(x, unfold=True),
        ("lightweight", "ours"): ours_lw(),
    }
    paths = {key: fn for key, fn in paths.items() if key[0] in kinds}
    if candidates:
        for p in conv_cpu.DYNAMIC_PATHS if "dynamic" in kinds else ():
            paths[("dynamic", f"ours {p}")] = ours_dyn(p)
        if "dynamic" in kinds:
            paths[("dynamic", "ours unfused band")] = ours_dyn("unfused band")
        for p in conv_cpu.LIGHTWEIGHT_PATHS if "lightweight" in kinds else ():
            paths[("lightweight", f"ours {p}")] = ours_lw(p)
    return paths


def peak_bytes(fn) -> int:
    """Peak of the CPU tensor bytes allocated while fn runs, above what was live before: the running sum of the
    allocation/free events torch.profiler records with profile_memory=True."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]")
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak


def bench_cpu(cases, threads, rounds, candidates, kinds=("dynamic", "lightweight")):
    torch.set_num_threads(threads)
    print(f"# cpu, {threads} threads; torch {torch.__version__}; python {sys.version.split()[0]}")
    print(f"# layer in training: weight softmax, DropConnect p={WEIGHT_DROPOUT}; T x B x C input; times are medians "
          f"of {rounds} rounds in which the paths take turns (A B C A B C ...)")
    print("# peak MiB: tensor bytes allocated during one forward+backward above those live before (torch.profiler "
          "memory events); speed-up: best fairseq time / this path's time (> 1: faster than fairseq's best)")
    print("| case | kind | path | fwd ms | fwd+bwd ms | fwd speed-up | fwd+bwd speed-up | peak MiB fwd+bwd |")
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        name, B, T, C, H, K, P = case
        torch.manual_seed(0)
        x = torch.randn(T, B, C, requires_grad=True)
        g = torch.randn(T, B, C)
        paths = _cpu_paths(case, candidates, kinds)

        def fwd(fn):
            return lambda: fn(x)

        def fwd_bwd(fn):
            def run():
                x.grad = None
                fn(x).backward(g)
            return run

        times = {key: ([], []) for key in paths}
        for r in range(rounds + 2):  # two warm-up rounds
            for key, fn in paths.items():
                for i, job in enumerate((fwd(fn), fwd_bwd(fn))):
                    t0 = time.perf_counter()
                    job()
                    if r >= 2:
                        times[key][i].append((time.perf_counter() - t0) * 1e3)
        med = {key: tuple(statistics.median(v) for v in pair) for key, pair in times.items()}
        for kind in kinds:
            best = [min(med[(k, p)][i] for (k, p) in med if k == kind and p.startswith("fairseq")) for i in (0, 1)]
            for (k, p), (f, fb) in med.items():
                if k != kind:
                    continue
                mib = peak_bytes(fwd_bwd(paths[(k, p)])) / 2**20
                print(f"| {name} (B{B} T{T} C{C} H{H} K{K} P{P}) | {kind} | {p} | {f:.2f} | {fb:.2f} | "
                      f"{best[0] / f:.2f}x | {best[1] / fb:.2f}x | {mib:.1f} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="run on the CPU: our paths against fairseq's, interleaved")
    ap.add_argument("--threads", type=int, default=2, help="CPU: torch.set_num_threads (default 2)")
    ap.add_argument("--rounds", type=int, default=5, help="CPU: interleaved timed rounds per case")
    ap.add_argument("--candidates", action="store_true", help="CPU: also time each of our candidate paths")
    ap.add_argument("--kinds", default="dynamic,lightweight",
                    help="CPU: comma list of the convolutions to time (dynamic, lightweight)")
    ap.add_argument("--cases", default=None,
                    help="CPU: comma list of case numbers to run (0-4, default all)")
    ap.add_argument("--dtypes", default=None, help="comma list among float32,float16,bfloat16")
    ap.add_argument("--reps", type=int, default=100, help="GPU: milliseconds of repetitions per timing")
    args = ap.parse_args(argv)
    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    if device == "cpu":
        kinds = tuple(k for k in ("dynamic", "lightweight") if k in args.kinds.split(","))
        if not kinds:
            ap.error(f"--kinds {args.kinds!r}: name dynamic, lightweight or both")
        cases = CPU_CASES if args.cases is None else [CPU_CASES[int(i)] for i in args.cases.split(",")]
        return bench_cpu(cases, args.threads, args.rounds, args.candidates, kinds)
    dtypes = args.dtypes or ("float32,float16" if device == "cuda" else "float32")
    cases = GPU_CASES if device == "cuda" else CPU_CASES
    timer = Timer(device, args.reps)
    torch.manual_seed(0)
    print(f"# device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; torch {torch.__version__}"
          f"; python {sys.version.split()[0]}")
    if triton_available():
        import triton

        print(f"# triton {triton.__version__}")
    mods = _fairseq_modules()
    copy_gbs = copy_bandwidth(device, timer) if device == "cuda" else None
    for name in dtypes.split(","):
        dtype = getattr(torch, name)
        bench_layer(mods, cases, dtype, device, timer)
        if device == "cuda":
            bench_kernel(mods, cases, dtype, device, timer, copy_gbs)


if __name__ == "__main__":
    main()
