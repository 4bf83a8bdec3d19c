"""On-device deployment (issue 14): lite-fairseq-export writes ExecuTorch / ONNX programs whose decoding, by the
standalone runtime, gives fairseq-generate's hypotheses; damaged exports and unsupported models are refused."""

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import REPO, USER_DIR, cli_env, run
from fairseq.models import ARCH_MODEL_REGISTRY
from model_helpers import FakeTask, build_model, make_dictionary, parse_model_args

from lite_fairseq.deploy import export as exporter
from lite_fairseq.deploy import graphs
from lite_fairseq.deploy.adapter import read_model
from lite_fairseq.deploy.runtime import DeployError, Translator, load_manifest, rows_per_batch_row, state_size
from lite_fairseq.deploy.spec import UnsupportedModelError

# small, to keep the exports short; the decoder kernels (3, 15) outlast the hypotheses (max-len-b 12): K > T
SMALL = ["--encoder-embed-dim", 64, "--decoder-embed-dim", 64, "--encoder-ffn-embed-dim", 64,
         "--decoder-ffn-embed-dim", 64, "--encoder-layers", 2, "--decoder-layers", 2,
         "--encoder-kernel-size-list", "[3, 5]", "--decoder-kernel-size-list", "[3, 15]"]
TRAIN_ARGS = [
    "--user-dir", USER_DIR, "--arch", "lite_transformer_tiny", *SMALL, "--share-all-embeddings",
    "--optimizer", "adam", "--lr", "0.003", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "5",
    "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1", "--max-tokens", "1024",
    "--num-workers", "0", "--seed", "3", "--cpu", "--max-update", "30", "--no-epoch-checkpoints",
    "--log-format", "simple",
]
MAX_LEN_B = 12


def _python(*args):
    return [sys.executable, *[str(a) for a in args]]


@pytest.fixture(scope="module")
def checkpoint(tiny_data_bin, tmp_path_factory, run_cli):
    save_dir = tmp_path_factory.mktemp("deploy_ckpt")
    run_cli("train", [tiny_data_bin, *TRAIN_ARGS, "--save-dir", save_dir], timeout=600)
    return save_dir / "checkpoint_last.pt"


def _hypotheses(out: str):
    found = {int(i): h for i, h in re.findall(r"^H-(\d+)\t-?[0-9.]+(?:e-?\d+)?\t(.*)$", out, re.M)}
    return [found[i] for i in sorted(found)]


@pytest.fixture(scope="module")
def generate_logs(checkpoint, tiny_data_bin, run_cli):
    """fairseq-generate's output on the test set, batch 1 (no padding), greedy and beam 4."""
    return {beam: run_cli("generate", [tiny_data_bin, "--user-dir", USER_DIR, "--path", checkpoint, "--gen-subset",
                                       "test", "--beam", beam, "--batch-size", 1, "--max-len-b", MAX_LEN_B,
                                       "--num-workers", 0, "--cpu"]).stdout for beam in (1, 4)}


@pytest.fixture(scope="module")
def generated(generate_logs):
    """fairseq-generate's hypotheses, greedy and beam 4."""
    return {beam: _hypotheses(out) for beam, out in generate_logs.items()}


@pytest.fixture(scope="module")
def sources(tiny_corpus):
    return (tiny_corpus / "bpe" / "test.de").read_text(encoding="utf-8").splitlines()


def _export(checkpoint, data_bin, out, fmt, *extra):
    return run(_python("-m", "lite_fairseq.deploy.export", "--path", checkpoint, "--data", data_bin,
                       "--format", fmt, "--out", out, *extra), timeout=900)


def _decode(export_dir, lines, *options, module=False, check=True):
    """Decode with the runtime.py copied into the export (fast: no torch for onnx), or ``python -m
    lite_fairseq.deploy`` (``module=True``)."""
    runner = ("-m", "lite_fairseq.deploy") if module else (Path(export_dir) / "runtime.py",)
    proc = run(_python(*runner, export_dir, "--threads", 1, "--max-len-b", MAX_LEN_B, *options),
               stdin="".join(line + "\n" for line in lines), check=check, timeout=600)
    return proc


@pytest.fixture(scope="module")
def onnx_tools():
    """Skip (before any training) where the ONNX exporter or runtime is not installed."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def onnx_exported(onnx_tools, checkpoint, tiny_data_bin, tmp_path_factory):
    """The export directory and what the exporter wrote on stderr."""
    out = tmp_path_factory.mktemp("onnx_export")
    return out, _export(checkpoint, tiny_data_bin, out, "onnx").stderr


@pytest.fixture(scope="module")
def onnx_export(onnx_exported):
    return onnx_exported[0]


@pytest.fixture(scope="module")
def executorch_tools():
    pytest.importorskip("executorch.runtime")


@pytest.fixture(scope="module")
def executorch_exported(executorch_tools, checkpoint, tiny_data_bin, tmp_path_factory):
    """The export directory and what the exporter wrote on stderr."""
    out = tmp_path_factory.mktemp("executorch_export")
    return out, _export(checkpoint, tiny_data_bin, out, "executorch").stderr


@pytest.fixture(scope="module")
def executorch_export(executorch_exported):
    return executorch_exported[0]


@pytest.fixture(scope="module")
def onnx_int8_exported(onnx_tools, checkpoint, tiny_data_bin, tmp_path_factory):
    """An --int8 ONNX export's directory and the exporter's stderr."""
    out = tmp_path_factory.mktemp("onnx_int8_export")
    return out, _export(checkpoint, tiny_data_bin, out, "onnx", "--int8").stderr


@pytest.mark.parametrize("beam", [1, 4])
def test_onnx_export_decodes_like_fairseq_generate(onnx_export, generated, sources, beam):
    out = _decode(onnx_export, sources, "--beam", beam, module=True).stdout.splitlines()
    assert out == generated[beam]


@pytest.mark.parametrize("beam", [1, 4])
def test_executorch_export_decodes_like_fairseq_generate(executorch_export, generated, sources, beam):
    out = _decode(executorch_export, sources, "--beam", beam).stdout.splitlines()
    assert out == generated[beam]


def test_agreement_benchmark_counts_hypotheses_identical_to_fairseq_generate(onnx_export, generate_logs, checkpoint,
                                                                            tiny_data_bin, tmp_path, capsys):
    """benchmarks/deploy_agreement.py (reusing this module's export and fairseq-generate logs): every hypothesis
    identical and the goal met; one H line changed in the greedy log and that row says so."""
    import deploy_agreement  # benchmarks/, importable through tests/helpers.py

    work = tmp_path / "work"
    shutil.copytree(onnx_export, work / "onnx_float32")
    first = re.search(r"^H-\d+\t\S+\t", generate_logs[1], re.M)
    logs = {1: generate_logs[1][:first.end()] + "changed " + generate_logs[1][first.end():], 4: generate_logs[4]}
    for beam, log in logs.items():
        (work / f"generate_beam{beam}.txt").write_text(log, encoding="utf-8")
    deploy_agreement.main(["--path", str(checkpoint), "--data", str(tiny_data_bin), "--formats", "onnx", "--no-int8",
                           "--reuse", "--max-len-a", "0", "--max-len-b", str(MAX_LEN_B), "--workdir", str(work)])
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  onnx ")}
    n = len(deploy_agreement.parse_generate(generate_logs[1])[2])
    assert f"{n - 1}/{n} " in rows["1"] and rows["1"].endswith("NO")
    assert f"{n}/{n} (100.0%)" in rows["4"] and "+0.00" in rows["4"] and rows["4"].endswith("yes")


def test_latency_benchmark_times_one_engine_per_onnx_int8_recipe():
    import deploy_latency  # benchmarks/, importable through tests/helpers.py

    def names(*argv):
        args = deploy_latency.argparse.Namespace(formats=["onnx", "executorch"], onnx_int8_recipes=list(argv))
        return [(name, int8, recipe) for name, _, int8, recipe in deploy_latency._variants(args)]

    assert names(None) == [("onnx", False, None), ("onnx int8", True, None), ("executorch", False, None),
                           ("executorch int8", True, None)]
    assert names("nbits8", "dynamic-per-tensor")[1:3] == [("onnx int8 nbits8", True, "nbits8"),
                                                          ("onnx int8 dynamic-per-tensor", True, "dynamic-per-tensor")]


def test_export_directory_holds_programs_dictionaries_manifest_and_runtime(onnx_export):
    names = sorted(p.name for p in Path(onnx_export).iterdir())
    assert names == ["decoder_step.onnx", "dict.de.txt", "dict.en.txt", "encoder.onnx", "manifest.json",
                     "runtime.py"]
    manifest = load_manifest(str(onnx_export))
    assert manifest["arch"] == "lite_transformer_tiny" and manifest["options"]["decoder_kernel_sizes"] == [3, 15]
    decoder = manifest["programs"]["decoder"]
    assert [i["name"] for i in decoder["inputs"][:2]] == ["tokens", "step"]
    assert {i["dtype"] for i in decoder["inputs"][2:]} == {"float32"}
    # the convolution's last K-1 = 14 inputs of its 32 channels, channels first (batch x heads x head_dim x 14)
    conv = [s["shape"] for s in manifest["state"] if s["name"].endswith("_conv")]
    assert any(shape[0] == "batch" and shape[1] * shape[2] == 32 and shape[3] == 14 for shape in conv), conv


def test_onnx_lite_decoder_step_graph_stays_slim(onnx_export, tmp_path):
    """The exported Lite decoder step runs few nodes (each costs onnxruntime a dispatch whatever its size): per
    layer one weight product for the attention's q, k and v together and one for each other projection (9), the
    convolution's taps in one product (no ReduceSum), no transposes but the encoder's keys' (fused into the scores'
    product; the self-attention keys are kept transposed),
    and at most 99 nodes after onnxruntime's optimisations for these 2 layers (137 before the graph was slimmed,
    94 before the caches were written by ScatterElements, whose index takes a Shape, a Concat and an Expand)."""
    import onnx
    import onnxruntime as ort

    graph = onnx.load(str(onnx_export / "decoder_step.onnx")).graph
    weights = {i.name for i in graph.initializer}
    ops = [n.op_type for n in graph.node]
    layers = 2  # SMALL
    assert sum(n.op_type in ("MatMul", "Gemm") and bool(weights & set(n.input)) for n in graph.node) == 9 * layers + 1
    assert "ReduceSum" not in ops and ops.count("Transpose") == layers
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    ort.InferenceSession(str(onnx_export / "decoder_step.onnx"), options, providers=["CPUExecutionProvider"])
    optimised = onnx.load(options.optimized_model_filepath).graph.node
    assert len(optimised) <= 99, sorted(n.op_type for n in optimised)


def test_decoder_step_caches_grow_by_one_position_per_step_whatever_the_max_target_len(onnx_export):
    """The self-attention caches hold the positions decoded so far: empty before the first step, one position
    longer after each (a concatenation), so a step never reads or writes the export's --max-target-len slots
    (written in place and masked, they made a default export's step 1.5x-2.6x slower). The graph has no
    ScatterElements and no Where left for them."""
    import numpy as np
    import onnx

    graph = onnx.load(str(onnx_export / "decoder_step.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert "ScatterElements" not in ops and "Where" not in ops, sorted(set(ops))
    caches = {o.name for o in graph.output if "_keys" in o.name or "_values" in o.name}
    assert len(caches) == 2 * 2  # SMALL: 2 layers, one attention branch each, a key and a value cache
    assert {n.op_type for n in graph.node if set(n.output) & caches} == {"Concat"}
    translator = Translator(str(onnx_export), threads=1)
    heads = {s["name"]: s["shape"] for s in translator.manifest["state"]}
    cross = translator.encoder.run([np.array([[7, 12, 30, 2]])])
    states = translator.initial_state(3)
    names = [s["name"] for s in translator.manifest["state"]]
    for step in range(4):
        for name, state in zip(names, states):
            if name.endswith("_keys"):
                rows, head_dim, positions = heads[name]
                assert state.shape == (3 * rows_per_batch_row(rows), head_dim, step) and positions == "tgt_len"
            elif name.endswith("_values"):
                assert state.shape[1] == step
        out = translator.decoder.run([np.full((3, 1), 2), np.array([step])] + cross + states)
        states = out[1:]


# A sitecustomize that makes fairseq (and torch: onnxruntime needs neither) unimportable.
BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED!r}:
            raise ImportError('blocked for the test: ' + name)
sys.meta_path.insert(0, _Block())
"""


def test_copied_runtime_decodes_without_fairseq_or_torch(onnx_export, generated, sources, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER.replace("{BLOCKED!r}", repr({"fairseq", "torch"})))
    env = dict(cli_env(), PYTHONPATH=str(tmp_path))
    script = Path(onnx_export) / "runtime.py"
    check = subprocess.run(_python("-c", "import fairseq"), env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "blocked for the test" in check.stderr
    proc = subprocess.run(_python(script, onnx_export, "--beam", 4, "--max-len-b", MAX_LEN_B, "--threads", 1),
                          input="".join(s + "\n" for s in sources), env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == generated[4]


def test_executorch_runtime_threads_option_also_bounds_torchs_threads(executorch_export):
    """``--threads N`` with an ExecuTorch export: some of ExecuTorch's CPU kernels run on torch's thread pool, which
    would otherwise keep one thread per core (two threads' CPU for one thread's work on a 2-core machine)."""
    code = ("import sys, torch; sys.path.insert(0, sys.argv[1]); from runtime import Translator; "
            "torch.set_num_threads(2); Translator(sys.argv[1], threads=1); print(torch.get_num_threads())")
    proc = subprocess.run(_python("-c", code, executorch_export), env=cli_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "1"


def test_empty_input_line_gives_an_empty_output_line(onnx_export, generated, sources):
    out = _decode(onnx_export, [sources[0], "", "   ", sources[1]], "--beam", 1).stdout.split("\n")
    assert out == [generated[1][0], "", "", generated[1][1], ""]


def test_unknown_source_words_decode_as_unk(onnx_export, generated, sources):
    translator = Translator(str(onnx_export), threads=1)
    src = translator.encode("qqqunseen " + sources[0])
    assert src[0, 0] == translator.unk and src[0, -1] == translator.eos


def test_int8_onnx_export_decodes_sane_hypotheses(onnx_int8_exported, sources):
    out_dir = onnx_int8_exported[0]
    manifest = load_manifest(str(out_dir))
    assert manifest["int8"] is True
    assert manifest["int8_recipe"] == "dynamic-per-tensor"  # the default: fastest, BLEU kept (RESULTS.md)
    out = _decode(out_dir, sources, "--beam", 4).stdout.splitlines()
    assert len(out) == len(sources)
    vocabulary = {line.split()[0] for line in (out_dir / "dict.en.txt").read_text().splitlines()}
    assert all(word in vocabulary or word == "<unk>" for line in out for word in line.split())
    assert sum(bool(line) for line in out) >= len(out) // 2


# What the libraries print on stderr that a user can do nothing about (lite_fairseq/deploy/backends.py keeps it
# off): torchao's CUDA-only extensions failing to load, torch's notes on a registered enum and on its own tree specs,
# torch.onnx's notes on torchvision and on shared dynamic dimensions, onnxruntime's pre-processing advice.
LIBRARY_NOISE = ("Failed to load", "KernelPreference", "LeafSpec", "torchvision is not installed",
                 "will not be used, since it shares", "pre-processing before quantization")


def test_export_and_runtime_stderr_carry_no_library_noise(onnx_exported, onnx_int8_exported, executorch_exported,
                                                          sources):
    stderr = {"onnx export": onnx_exported[1], "onnx --int8 export": onnx_int8_exported[1],
              "executorch export": executorch_exported[1],
              "executorch runtime": _decode(executorch_exported[0], sources[:2], "--beam", 2).stderr}
    for what, text in stderr.items():
        noise = [n for n in LIBRARY_NOISE if n in text]
        assert not noise, f"{what} printed {noise} on stderr:\n{text[-3000:]}"


def test_onnx_int8_recipes_quantise_every_projection_including_the_output(onnx_tools, tmp_path):
    """No float32 weight matrix is left in an int8 decoder step (the output projection used to export as a Gemm,
    which onnxruntime's dynamic quantisation skips), and its probabilities stay close to the float32 export's."""
    import numpy as np
    import onnx

    dictionary = make_dictionary(40)
    args = [*map(str, SMALL), "--decoder-layers", "1", "--decoder-kernel-size-list", "[5]",
            "--share-decoder-input-output-embed", "False"]
    model = build_model("lite_transformer_tiny", args, dictionary=dictionary).eval()
    spec = read_model(model, parse_model_args("lite_transformer_tiny", args))
    with pytest.raises(UnsupportedModelError, match="--int8-recipe nbits8 applies to --format onnx --int8 only"):
        exporter.export(spec, dictionary, dictionary, str(tmp_path / "x"), "executorch", int8=True,
                        int8_recipe="nbits8")
    probs = {}
    for recipe in ("float32", exporter.backends.DEFAULT_ONNX_INT8_RECIPE, "nbits8"):
        out, int8 = tmp_path / recipe, recipe != "float32"
        manifest = exporter.export(spec, dictionary, dictionary, str(out), "onnx", int8=int8, max_target_len=8,
                                   max_batch=2, int8_recipe=recipe if int8 else None)
        assert manifest["int8_recipe"] == (recipe if int8 else None)
        graph = onnx.load(str(out / "decoder_step.onnx")).graph
        weights = {i.name for i in graph.initializer}
        with_weights = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and weights & set(n.input)]
        assert (with_weights == []) == int8, with_weights
        translator = Translator(str(out), threads=1)
        cross = translator.encoder.run([np.array([[7, 12, 30, 2]])])
        step = translator.decoder.run([np.array([[2]]), np.array([0])] + cross + translator.initial_state(1))
        probs[recipe] = np.exp(step[0])
    for recipe in probs:
        assert np.abs(probs[recipe] - probs["float32"]).max() < 0.05, recipe


def _step_programs(model, arch, args, max_len=24, as_matmul=False):
    spec = read_model(model, parse_model_args(arch, args))
    return (spec, graphs.EncoderProgram(spec, as_matmul).eval(),
            graphs.DecoderStepProgram(spec, max_len, as_matmul).eval())


@pytest.mark.parametrize("conv,glu,as_matmul", [("dynamic", "False", False), ("lightweight", "False", True),
                                                ("dynamic", "True", True), ("lightweight", "True", False)])
def test_decoder_step_state_matches_fairseq_incremental_decoding_with_beam_reordering(conv, glu, as_matmul):
    """Kernel 15 over 8 steps (K > T) and the rows permuted between steps, as a beam search does; the linear layers
    as ``linear`` (the ExecuTorch programs) and as ``MatMul`` + ``Add`` (the ONNX ones)."""
    args = [*map(str, SMALL), "--encoder-conv-type", conv, "--decoder-conv-type", conv, "--decoder-glu", glu]
    model = build_model("lite_transformer_tiny", args).eval()
    spec, encoder, step = _step_programs(model, "lite_transformer_tiny", args, as_matmul=as_matmul)
    src = torch.tensor([[5, 9, 7, 11, 2]])
    rows, steps = 3, 8
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(4, 24, (rows, steps), generator=gen)
    tokens[:, 0] = 2
    states = [torch.zeros([state_size(d, rows, 0) for d in shape]) for _, shape in
              graphs.state_layout(spec.decoder)]
    with torch.no_grad():
        cross = list(encoder(src))
        enc_out = model.encoder(src.expand(rows, -1), src_lengths=torch.tensor([5] * rows))
        incremental = {}
        prefix = tokens[:, :1]
        for t in range(steps):
            ref, _ = model.decoder(prefix, encoder_out=enc_out, incremental_state=incremental)
            ref = torch.log_softmax(ref[:, -1].float(), dim=-1)
            out = step(prefix[:, -1:], torch.tensor([t]), cross, states)
            torch.testing.assert_close(out[0], ref, atol=1e-4, rtol=1e-4)
            states = list(out[1:])
            order = torch.randperm(rows, generator=gen)
            model.decoder.reorder_incremental_state_scripting(incremental, order)
            states = [s.reshape(rows, -1).index_select(0, order).reshape(s.shape) for s in states]
            prefix = torch.cat([prefix.index_select(0, order), tokens[:, t + 1:t + 2]], dim=1)


def test_executorch_decoder_step_leaves_no_cache_copy_or_product_outside_xnnpack(executorch_tools):
    """Lowered for ExecuTorch, the step's products and cache appends run in XNNPACK delegates: outside them stay no
    ``where`` (ExecuTorch's portable ``where`` over a static cache took a quarter of a step), no ``expand_copy`` (a
    broadcast ``matmul`` copies both operands, the caches too), no ``cat``, no ``view_copy`` of a cache, no matrix
    product."""
    from executorch import exir
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    args = [*map(str, SMALL), "--decoder-conv-type", "lightweight"]
    model = build_model("lite_transformer_tiny", args).eval()
    spec, _, step = _step_programs(model, "lite_transformer_tiny", args, max_len=8)
    _, inputs = graphs.example_inputs(spec)
    shapes = exporter.backends.dynamic_shapes("decoder", len(inputs[2]), [s for _, s in graphs.state_layout(
        spec.decoder)], 4, 64, 8)
    program = exir.to_edge_transform_and_lower(exporter.backends.export_program(step, inputs, shapes),
                                               partitioner=[XnnpackPartitioner()]).exported_program()
    nodes = [n for n in program.graph.nodes if n.op == "call_function"]
    left = [str(n.target) for n in nodes]
    assert not [t for t in left if any(op in t for op in ("expand_copy", "bmm", ".mm", "addmm", "linear", "where",
                                                          "cat"))], left
    caches = {n.name for n in program.graph.nodes if n.op == "placeholder" and n.meta["val"].dim() == 3}
    assert len(caches) == 2 * 2, caches  # SMALL: 2 layers, a key and a value cache each
    assert not [n for n in nodes if "view_copy" in str(n.target) and n.args[0].name in caches]
    assert sum("call_delegate" in t for t in left) <= 16, left


def test_executorch_int8_decoder_step_runs_its_softmaxes_in_xnnpack(executorch_tools):
    """ExecuTorch's own softmax kernels, run after an int8 XNNPACK product, were slow on an AMX CPU (log_softmax:
    1.2 ms of a 1.9 ms WMT-200 step). The int8 step writes the log-probabilities as log(softmax) and the dynamic
    kernel's softmax over the last dimension, which XNNPACK lowers, and computes the same values as the float32
    forms."""
    from executorch import exir
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    args = [*map(str, SMALL), "--decoder-conv-type", "dynamic", "--weight-softmax", "True"]
    model = build_model("lite_transformer_tiny", args).eval()
    spec = read_model(model, parse_model_args("lite_transformer_tiny", args))
    assert any(getattr(b, "weight_softmax", False) for layer in spec.decoder.layers for b in layer.branches)
    plain, int8_form = (graphs.DecoderStepProgram(spec, 8, delegated_softmax=d).eval() for d in (False, True))
    _, inputs = graphs.example_inputs(spec)
    with torch.no_grad():
        for a, b in zip(plain(*inputs), int8_form(*inputs)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    shapes = exporter.backends.dynamic_shapes("decoder", len(inputs[2]), [s for _, s in graphs.state_layout(
        spec.decoder)], 4, 64, 8)
    quantized = exporter.backends.quantize_for_xnnpack(int8_form, inputs, shapes)
    program = exir.to_edge_transform_and_lower(exporter.backends.export_program(quantized, inputs, shapes),
                                               partitioner=[XnnpackPartitioner()]).exported_program()
    left = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    assert not [t for t in left if "softmax" in t or "linear" in t], left


def _fairseq_translate(model, dictionary, src, beam, max_len_b):
    from fairseq.sequence_generator import SequenceGenerator

    generator = SequenceGenerator([model], dictionary, beam_size=beam, max_len_b=max_len_b)
    sample = {"net_input": {"src_tokens": src, "src_lengths": torch.tensor([src.size(1)])}}
    with torch.no_grad():
        return generator.generate([model], sample)[0][0]["tokens"].tolist()


@pytest.mark.parametrize("arch,args", [
    ("transformer_paper_iwslt_128", ["--encoder-layers", "2", "--decoder-layers", "2"]),
    ("lite_transformer_tiny", [*map(str, SMALL), "--encoder-glu", "False", "--encoder-conv-type", "lightweight",
                               "--share-decoder-input-output-embed", "False"]),
    ("lite_transformer_tiny", [*map(str, SMALL), "--encoder-normalize-before", "True",
                               "--decoder-normalize-before", "True", "--decoder-learned-pos", "True"]),
])
def test_onnx_export_of_built_models_decodes_like_sequence_generator(onnx_tools, arch, args, tmp_path):
    """fairseq's transformer and Lite options (no GLU, lightweight, separate output embedding, pre-norm, learned
    positions), untrained: the export's greedy and beam-4 hypotheses equal SequenceGenerator's."""
    dictionary = make_dictionary(40)
    model = build_model(arch, args, dictionary=dictionary).eval()
    spec = read_model(model, parse_model_args(arch, args))
    exporter.export(spec, dictionary, dictionary, str(tmp_path), "onnx", max_target_len=16, max_batch=4)
    translator = Translator(str(tmp_path), threads=1)
    src = torch.tensor([[7, 12, 30, 9, 21, 2]])
    for beam in (1, 4):
        ours = translator.search(src.numpy(), beam=beam, max_len_b=10)
        assert ours == _fairseq_translate(model, dictionary, src, beam, 10)


def test_a_hypothesis_cut_by_the_exports_max_target_len_is_flagged_on_stderr(onnx_tools, tmp_path, monkeypatch,
                                                                             capsys):
    """The export holds 8 target positions (hypotheses of at most 7 tokens). Where --max-len-b allows more, a
    hypothesis that reaches the limit may be shorter than fairseq's: the runtime still prints it (one output line
    per input line) and warns naming the line and the --max-target-len to export with; within the limit, no
    warning. The untrained model never ends before the limit."""
    from lite_fairseq.deploy import runtime

    dictionary = make_dictionary(40)
    model = build_model("lite_transformer_tiny", list(map(str, SMALL)), dictionary=dictionary).eval()
    spec = read_model(model, parse_model_args("lite_transformer_tiny", list(map(str, SMALL))))
    exporter.export(spec, dictionary, dictionary, str(tmp_path), "onnx", max_target_len=8, max_batch=4)
    line = " ".join(dictionary[i] for i in (7, 12, 30, 9, 21))
    for beam, max_len_b, warned in ((1, 20, True), (4, 20, True), (1, 3, False)):
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{line}\n\n{line}\n"))
        argv = [str(tmp_path), "--beam", str(beam), "--max-len-b", str(max_len_b), "--threads", "1"]
        assert runtime.main(argv) == 0
        out, err = capsys.readouterr()
        hypotheses = out.split("\n")[:3]
        assert hypotheses[1] == ""
        assert len(hypotheses[0].split()) == (7 if warned else 3)  # the limit, or what --max-len-b asks
        if warned:
            assert "input line 1:" in err and "input line 3:" in err and "input line 2" not in err
            assert "limit of 7 target tokens" in err and f"--max-target-len {max_len_b + 1} or more" in err
        else:
            assert err == ""


def test_models_the_exporter_cannot_handle_are_refused_naming_what_is_unsupported():
    lm_args = ["--decoder-layers", "1", "--decoder-kernel-size-list", "[3]"]
    lm = build_model("lite_transformer_lm_tiny", lm_args)
    with pytest.raises(UnsupportedModelError, match="language models cannot be exported"):
        read_model(lm, parse_model_args("lite_transformer_lm_tiny", lm_args))
    lstm_args = parse_model_args("lstm", ["--encoder-layers", "1", "--decoder-layers", "1"])
    lstm_args.criterion = "cross_entropy"
    lstm = ARCH_MODEL_REGISTRY["lstm"].build_model(lstm_args, FakeTask(make_dictionary()))
    with pytest.raises(UnsupportedModelError, match="'lstm'.*not supported"):
        read_model(lstm, lstm_args)
    args = ["--adaptive-softmax-cutoff", "10,20", "--encoder-layers", "1", "--decoder-layers", "1"]
    adaptive = build_model("transformer_paper_iwslt_128", args, dictionary=make_dictionary(40))
    with pytest.raises(UnsupportedModelError, match="adaptive softmax"):
        read_model(adaptive, parse_model_args("transformer_paper_iwslt_128", args))


def test_export_cli_names_a_missing_checkpoint(tiny_data_bin, tmp_path):
    proc = run(_python("-m", "lite_fairseq.deploy.export", "--path", tmp_path / "none.pt", "--data", tiny_data_bin,
                       "--format", "onnx", "--out", tmp_path / "out"), check=False, timeout=300)
    assert proc.returncode == 2 and "--path" in proc.stderr and "no such checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr


def _damaged(onnx_export, tmp_path, damage):
    broken = tmp_path / "broken"
    shutil.copytree(onnx_export, broken)
    damage(broken)
    return broken


def _rewrite_manifest(directory, change):
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _truncate(directory, fix_manifest):
    program = directory / "decoder_step.onnx"
    program.write_bytes(program.read_bytes()[:2000])
    if fix_manifest:
        from lite_fairseq.deploy.runtime import sha256_of

        def fix(m):
            m["programs"]["decoder"].update(bytes=2000, sha256=sha256_of(str(program)))
        _rewrite_manifest(directory, fix)


DAMAGES = [
    (lambda d: (d / "decoder_step.onnx").unlink(), "decoder_step.onnx is missing"),
    (lambda d: (d / "manifest.json").unlink(), "is not an export directory"),
    (lambda d: _rewrite_manifest(d, lambda m: m.update(format_version=99)), "format_version 99"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
    (lambda d: _truncate(d, fix_manifest=False), "truncated"),
    (lambda d: _truncate(d, fix_manifest=True), "onnxruntime cannot load"),
    (lambda d: _rewrite_manifest(d, lambda m: m["dictionaries"]["target"].update(size=7)), "another model"),
]


@pytest.mark.parametrize("damage,message", DAMAGES)
def test_damaged_or_mismatched_export_directory_is_refused_clearly(onnx_export, tmp_path, sources, damage,
                                                                    message):
    broken = _damaged(onnx_export, tmp_path, damage)
    with pytest.raises(DeployError, match=re.escape(message)):
        Translator(str(broken))
    if damage is DAMAGES[0][0]:  # once through the command line: a message and exit status 2, no traceback
        proc = run(_python(Path(onnx_export) / "runtime.py", broken), stdin=sources[0] + "\n", check=False,
                   timeout=300)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_plugin_imports_without_the_deploy_runtimes(tmp_path):
    blocked = {"onnxruntime", "onnx", "onnxscript", "executorch", "torchao"}
    (tmp_path / "sitecustomize.py").write_text(BLOCKER.replace("{BLOCKED!r}", repr(blocked)))
    env = dict(cli_env(), PYTHONPATH=f"{tmp_path}:{REPO}")
    proc = subprocess.run(_python("-c", "import lite_fairseq, lite_fairseq.deploy.export, lite_fairseq.deploy.adapter"),
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_compressed_checkpoint_exports_and_decodes_like_fairseq(onnx_tools, checkpoint, tiny_data_bin, sources,
                                                                tmp_path):
    """The plugin's loader decompresses a lite-fairseq-compress checkpoint; its export decodes like fairseq."""
    compressed = tmp_path / "compressed.pt"
    run(_python("-m", "lite_fairseq.compression.cli", "compress", checkpoint, "-o", compressed, "--sparsity", 0.3),
        timeout=300)
    _export(compressed, tiny_data_bin, tmp_path / "out", "onnx")
    model, _, task = exporter.load_checkpoint(str(compressed), tiny_data_bin)
    translator = Translator(str(tmp_path / "out"), threads=1)
    for line in sources[:5]:
        src = translator.encode(line)
        expected = _fairseq_translate(model, task.target_dictionary, torch.from_numpy(src), 4, MAX_LEN_B)
        assert translator.search(src, beam=4, max_len_b=MAX_LEN_B) == expected


def test_latency_benchmark_pairs_option_prints_lite_over_transformer_per_engine(capsys):
    import deploy_latency

    argv = ["--pairs", "lite_transformer_tiny=transformer_paper_wmt_128", "--engines", "none", "--repeats", "2",
            "--sentences", "2", "--steps", "3", "--src-len", "5", "--vocab", "100"]
    assert deploy_latency.main(argv) == 0
    out = capsys.readouterr().out
    assert "lite_transformer_tiny / transformer_paper_wmt_128: Lite/Transformer Mult-Adds/s" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("fairseq eager") and "greedy" in line)
    assert re.search(r"greedy \d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)   beam 4 \d+\.\d\dx", line), line
    with pytest.raises(SystemExit):
        deploy_latency.main(["--pairs", "lite_transformer_tiny"])
    assert "give LITE=TRANSFORMER" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        deploy_latency.main(["--pairs", "lite_transformer_tiny=nonesuch"])
    assert "unknown architecture 'nonesuch'" in capsys.readouterr().err


def test_latency_benchmark_pair_times_an_engine_only_one_side_has(onnx_export, capsys):
    import deploy_latency

    # the export (lite_transformer_tiny) is an engine of the pair's second architecture only
    vocab = min(len(Path(onnx_export, name).read_text().splitlines()) for name in ("dict.de.txt", "dict.en.txt"))
    argv = ["--pairs", "transformer_paper_wmt_128=lite_transformer_tiny", "--engines", "none", "--also",
            f"extra={onnx_export}", "--repeats", "1", "--sentences", "1", "--steps", "2", "--src-len", "4",
            "--vocab", str(vocab)]
    assert deploy_latency.main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  lite_transformer_tiny\s+extra\s+\d", out, re.M), out
    assert not re.search(r"^    extra\s+greedy", out, re.M)  # no ratio without a Transformer side
