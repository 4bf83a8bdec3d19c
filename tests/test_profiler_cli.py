"""lite-fairseq-profile's command line: JSON output, bad input, the plot script, the latency decoding loop."""

import importlib.util
import json
import sys

import pytest
import torch

from helpers import REPO, run
from lite_fairseq.profiler import build, profile
from lite_fairseq.profiler.cli import main
from lite_fairseq.profiler.latency import translate


def run_main(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_output_fields(capsys):
    rc, out, err = run_main(capsys, "--arch", "lite_transformer_tiny", "--encoder-layers", "2",
                            "--encoder-kernel-size-list", "3", "7", "--json")
    assert rc == 0, err
    data = json.loads(out)
    for key in ("macs", "params", "params_without_embeddings"):
        assert isinstance(data[key], int) and data[key] > 0
    expected = profile("lite_transformer_tiny", ["--encoder-layers", "2", "--encoder-kernel-size-list", "3", "7"])
    assert data["macs"] == expected.macs and data["params"] == expected.params
    assert data["macs_by_part"]["encoder"]["conv"] == 30 * 64 * (3 + 7)  # the overrides took effect


def test_table_output(capsys):
    rc, out, _ = run_main(capsys, "--arch", "transformer_paper_wmt_128", "--src-len", "10", "--tgt-len", "12")
    assert rc == 0
    assert "10-token source into a 12-token target" in out
    assert "enc-dec attention projections" in out and "without embeddings and output projection" in out


@pytest.mark.parametrize("argv,message", [
    (["--arch", "lite_transformer_wmt_2000"], "unknown architecture 'lite_transformer_wmt_2000'; did you mean"),
    (["--arch", "lite_transformer_tiny", "--encoder-embed-dim", "abc"], "--encoder-embed-dim: invalid int value"),
    (["--arch", "lite_transformer_tiny", "--no-such-option", "3"], "unknown option(s) --no-such-option"),
    (["--arch", "lite_transformer_tiny", "stray"], "unexpected value(s) stray"),
    (["--arch", "lite_transformer_tiny", "--encoder-embed-dim", "100"], "cannot build the model"),
    (["--arch", "lite_transformer_tiny", "--data", "/nonexistent/data-bin"], "'/nonexistent/data-bin' does not exist"),
    (["--arch", "lite_transformer_wmt_200", "--src-vocab", "100", "--tgt-vocab", "90"], "joined dictionary"),
    ([], "--arch is required"),
    (["--latency", "--arch", "lite_transformer_wmt_200"], "give both --arch and --baseline-arch"),
])
def test_bad_input_gives_clear_error_and_nonzero_exit(capsys, argv, message):
    rc, out, err = run_main(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("lite-fairseq-profile: error: ") and message in err, err


def test_bad_length_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--arch", "lite_transformer_tiny", "--src-len", "0"])
    assert exc.value.code == 2
    assert "--src-len: expected a positive integer, got 0" in capsys.readouterr().err


def test_module_entry_point_exit_status():
    proc = run([sys.executable, "-m", "lite_fairseq.profiler", "--arch", "no_such_arch"], timeout=120,
               check=False)
    assert proc.returncode == 2
    assert "lite-fairseq-profile: error: --arch: unknown architecture 'no_such_arch'" in proc.stderr


def test_latency_loop_decodes_exactly_the_asked_steps():
    built = build("lite_transformer_tiny", src_vocab=60)
    src = torch.randint(4, 60, (1, 9))
    for beam in (1, 4):
        tokens = translate(built, src, steps=7, beam=beam)
        assert tokens.shape == (beam, 7)
        assert not tokens.eq(built.tgt_dict.eos()).any() and tokens.ge(built.tgt_dict.nspecial).all()
    # greedy decoding picks the argmax at every step: replaying the tokens teacher-forced gives the same argmaxes
    greedy = translate(built, src, steps=7, beam=1)
    with torch.no_grad():
        enc = built.model.encoder(src, src_lengths=torch.tensor([9]))
        prev = torch.cat([torch.tensor([[built.tgt_dict.eos()]]), greedy[:, :-1]], dim=1)
        logits, _ = built.model.decoder(prev, encoder_out=enc)
    logits[..., [built.tgt_dict.pad(), built.tgt_dict.eos(), built.tgt_dict.bos()]] = float("-inf")
    assert torch.equal(logits.argmax(-1), greedy)


def _plot_module():
    spec = importlib.util.spec_from_file_location("plot_tradeoff", REPO / "benchmarks" / "plot_tradeoff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plot_tradeoff_writes_png(tmp_path):
    plot_tradeoff = _plot_module()
    runs = tmp_path / "runs.csv"
    runs.write_text("family,label,arch,macs,bleu,log\n"
                    "Lite Transformer,tiny,lite_transformer_tiny,,20.5,\n"
                    "Transformer,a,,87000000,21.0,\n"
                    "Transformer,b,,338000000,25.1,\n")
    out = tmp_path / "tradeoff.png"
    assert plot_tradeoff.main([str(runs), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
    log = tmp_path / "train.log"
    log.write_text("epoch 001 | valid on 'valid' subset | loss 9.5 | nll_loss 9.1\n"
                   "epoch 002 | valid on 'valid' subset | loss 7.25 | nll_loss 7.0\n")
    runs_json = tmp_path / "runs.json"
    runs_json.write_text(json.dumps([{"family": "Lite", "label": "x", "macs": 5e7, "log": str(log)}]))
    families = plot_tradeoff.plot(plot_tradeoff.read_runs(str(runs_json)), "valid_loss", str(tmp_path / "l.png"))
    assert families == {"Lite": [(50.0, 7.25, "x")]}
    assert plot_tradeoff.main([str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
