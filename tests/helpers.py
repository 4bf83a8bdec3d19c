"""The one place that knows where things are and how the tests run commands.

Test modules import from here (``from helpers import REPO, run``); tests/conftest.py imports this module first, so
the checkout's ``lite_fairseq``, the quickstart corpus generator (``import corpus``) and ``benchmarks/`` are
importable in every test module, and nothing else edits ``sys.path``.

- Paths: ``REPO``, ``TESTS``, ``USER_DIR`` (what ``--user-dir`` gets), ``EXAMPLES``, ``BENCHMARKS``, ``QUICKSTART``,
  ``QUICKSTART_CLI``.
- ``subprocess_env(**extra)``: the environment of every subprocess (checkout importable, this interpreter's console
  scripts first on PATH, one intra-op thread: tiny models on a small shared machine run many times slower with
  several threads fighting for the cores). ``cli_env`` is the same function under its older name.
- ``run(cmd, ...)``: run a command, raise with the tail of its output when it fails or times out.
- ``fairseq_cmd(tool, args)``: ``fairseq-<tool> args`` as ``python -m fairseq_cli.<tool> args``.
- ``run_script(path, *args, cwd=..., **env)``: a bash script of ``examples/`` (path relative to it).
- ``console_script(name)``: a console script of this interpreter's environment (e.g. ``subword-nmt``).

Markers (pyproject.toml): ``slow`` marks end-to-end command-line tests that train models through fairseq-train or
decode through fairseq-generate; ``gpu`` marks tests that need a CUDA device (skipped without one). CI and
README's command run everything (``bash scripts/run_tests.sh``); for a quick local run skip the slow ones::

    python -m pytest -q -m "not slow" tests
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"  # tests/data/ holds recorded reference data
USER_DIR = str(REPO / "lite_fairseq")
EXAMPLES = REPO / "examples"
BENCHMARKS = REPO / "benchmarks"
# The quickstart corpus generator is an example, not part of the plugin: examples/quickstart/corpus/.
QUICKSTART = REPO / "examples" / "quickstart"
QUICKSTART_CLI = QUICKSTART / "corpus_cli.py"

for _path in (BENCHMARKS, QUICKSTART, REPO):  # REPO ends up first: the checkout wins over an installed copy
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def subprocess_env(extra_pythonpath=(), **extra):
    """Environment for subprocesses: the checkout (and ``extra_pythonpath``) importable, this interpreter's
    console scripts (fairseq-*, subword-nmt) first on PATH, ``PYTHON`` set to it, one intra-op thread; ``extra``
    adds or overrides variables."""
    env = dict(os.environ)
    paths = [str(REPO)] + [str(p) for p in extra_pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHON"] = sys.executable
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


cli_env = subprocess_env


def _tail(text, n=3000):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return (text or "")[-n:]


def run(cmd, *, cwd=None, stdin=None, timeout=300, check=True, env=None):
    """Run ``cmd`` (items turned into strings) with text stdout/stderr captured and a hard timeout; return the
    CompletedProcess. On a non-zero exit (with ``check``) or a timeout, raise AssertionError with both tails."""
    cmd = [str(c) for c in cmd]
    try:
        proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else subprocess_env())
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"command timed out after {timeout}s: {' '.join(cmd)}\n--- stdout (tail) ---\n"
                             f"{_tail(e.stdout)}\n--- stderr (tail) ---\n{_tail(e.stderr)}") from None
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed with exit code {proc.returncode}: {' '.join(cmd)}\n"
            f"--- stdout (tail) ---\n{_tail(proc.stdout)}\n--- stderr (tail) ---\n{_tail(proc.stderr)}")
    return proc


def fairseq_cmd(tool, args=()):
    """``fairseq-<tool> args`` as the equivalent ``python -m fairseq_cli.<tool> args`` of this interpreter."""
    return [sys.executable, "-m", f"fairseq_cli.{tool}"] + [str(a) for a in args]


def run_script(script, *args, cwd=None, stdin=None, check=True, timeout=300, **env):
    """``bash examples/<script> args`` with :func:`subprocess_env` plus ``env``."""
    return run(["bash", EXAMPLES / script, *args], cwd=cwd, stdin=stdin, check=check, timeout=timeout,
               env=subprocess_env(**env))


def console_script(name):
    """A console script of this interpreter's environment (e.g. subword-nmt), as a user would type it."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise RuntimeError(f"console script {name!r} not found next to {sys.executable}; install the project's "
                           "requirements into this environment")
    return str(path)
