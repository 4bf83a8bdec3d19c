"""Loading fairseq checkpoints under torch's ``weights_only=True`` default, safely.

Since torch 2.6 ``torch.load`` refuses every pickled object that is not a tensor or a plain container, and fairseq
checkpoints hold a few such objects (the training options as an ``argparse.Namespace``; older checkpoints omegaconf
containers; numpy scalars in some training states). Instead of turning the check off, :func:`install` adds exactly
those types to torch's allow-list, and makes fairseq's loader explain a refusal: a checkpoint carrying any other
pickled object is rejected with a message that names the object's type and the file.

After fairseq's loader has read a file, the steps registered with :func:`register_post_load` run in order on the
loaded state (the package registers decompression of compressed checkpoints and the ``cpu_int8`` model-override
check, see :mod:`lite_fairseq`). This module depends only on torch and fairseq: every other part of the package
may import it, it imports none of them.
"""

import argparse
import collections
import functools
import pickle
import re
from typing import Any, Callable, List, Mapping, Optional

import torch
from fairseq import checkpoint_utils


def _omegaconf_globals() -> List[object]:
    try:
        import omegaconf
        from omegaconf import nodes
        from omegaconf.base import ContainerMetadata, Metadata
    except ImportError:  # fairseq always brings omegaconf; stay importable without it
        return []
    types: List[object] = [omegaconf.DictConfig, omegaconf.ListConfig, ContainerMetadata, Metadata]
    for name in ("AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "EnumNode", "BytesNode",
                 "PathNode", "ValueNode"):
        if hasattr(nodes, name):
            types.append(getattr(nodes, name))
    return types


def _numpy_globals() -> List[object]:
    try:
        import numpy as np
    except ImportError:
        return []
    types: List[object] = [np.dtype]
    try:  # numpy 2 moved the scalar reconstructor to numpy._core; numpy 1 keeps it in numpy.core
        from numpy._core.multiarray import scalar
    except ImportError:
        from numpy.core.multiarray import scalar
    types.append(scalar)
    for dtype in (np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_):
        types.append(type(np.dtype(dtype)))
    return types


def safe_globals() -> List[object]:
    """Every non-tensor type a fairseq checkpoint legitimately holds."""
    return ([argparse.Namespace, Any, collections.defaultdict, collections.OrderedDict, dict, list, int,
             float, str, bool, tuple, set] + _omegaconf_globals() + _numpy_globals())


class CheckpointLoadError(RuntimeError):
    """A checkpoint that cannot or must not be loaded; the message names the file and the reason."""


PostLoadStep = Callable[[Any, str, Optional[Mapping[str, Any]]], Any]
"""``step(state, path, arg_overrides) -> state``: sees every checkpoint fairseq's loader reads and returns the state
to use (the same object changed in place, or a new one); raises :class:`CheckpointLoadError` to refuse the file.
``arg_overrides`` are fairseq's (``--model-overrides``), or None."""

_POST_LOAD_STEPS: List[PostLoadStep] = []


def register_post_load(step: PostLoadStep) -> PostLoadStep:
    """Run ``step`` on every checkpoint fairseq's loader reads, after the steps registered before it. Registering
    the same step again changes nothing. Returns ``step`` (usable as a decorator)."""
    if step not in _POST_LOAD_STEPS:
        _POST_LOAD_STEPS.append(step)
    return step


def post_load_steps() -> List[PostLoadStep]:
    """The registered steps, in the order they run."""
    return list(_POST_LOAD_STEPS)


def run_post_load(state, path, arg_overrides: Optional[Mapping[str, Any]] = None):
    for step in _POST_LOAD_STEPS:
        state = step(state, path, arg_overrides)
    return state


_UNSUPPORTED = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def explain_load_failure(path, error: BaseException) -> CheckpointLoadError:
    text = str(error)
    match = _UNSUPPORTED.search(text)
    if match:
        what = match.group(1)
        return CheckpointLoadError(
            f"refusing to load checkpoint {path}: it holds a pickled reference to `{what}`, which is not among the "
            "types fairseq checkpoints hold (see lite_fairseq.checkpoint_safety.safe_globals()). "
            "Unpickling it could run arbitrary code. If you trust this file and that type, allow-list just that type "
            "with torch.serialization.add_safe_globals([...]) before loading.")
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    return CheckpointLoadError(
        f"cannot read checkpoint {path}: {reason} "
        "(is the file truncated or not a fairseq checkpoint? try an earlier checkpoint, e.g. checkpoint_best.pt)")


def _explaining(load: Callable) -> Callable:
    if getattr(load, "_lite_fairseq_explains", False):
        return load

    @functools.wraps(load)
    def wrapper(path, *args, **kwargs):
        try:
            state = load(path, *args, **kwargs)
        except FileNotFoundError:
            raise
        except (pickle.UnpicklingError, EOFError, RuntimeError, OSError) as e:
            if isinstance(e, CheckpointLoadError):
                raise
            raise explain_load_failure(path, e) from e
        return run_post_load(state, path, args[0] if args else kwargs.get("arg_overrides"))

    wrapper._lite_fairseq_explains = True
    return wrapper


def install() -> None:
    """Allow-list fairseq's checkpoint types for ``torch.load`` and make fairseq's loader explain refusals."""
    torch.serialization.add_safe_globals(safe_globals())
    checkpoint_utils.load_checkpoint_to_cpu = _explaining(checkpoint_utils.load_checkpoint_to_cpu)


def load_checkpoint(path, **kwargs):
    """``torch.load`` of a fairseq checkpoint on CPU with the safe defaults (weights_only stays on)."""
    try:
        return torch.load(path, map_location="cpu", **kwargs)
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError) as e:
        raise explain_load_failure(path, e) from e
