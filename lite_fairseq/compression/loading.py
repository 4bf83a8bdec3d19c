"""Post-load steps for fairseq's checkpoint loader (registered with
:func:`lite_fairseq.checkpoint_safety.register_post_load` by the package's ``__init__``):

- :func:`decompress_if_compressed`: a compressed checkpoint (``lite-fairseq-compress``) becomes an ordinary dense
  one, so ``fairseq-generate --path compressed.pt`` works;
- :func:`check_cpu_int8_override`: the ``cpu_int8`` model override is refused for models that cannot honour it,
  instead of being ignored silently.
"""

from fairseq.models import ARCH_MODEL_REGISTRY

from lite_fairseq.checkpoint_safety import CheckpointLoadError
from lite_fairseq.modules.int8 import CPU_INT8_OPTION

from .storage import decompress_state, is_compressed


def _model_arch(state):
    cfg = state.get("cfg")
    model_cfg = None
    if cfg is not None:
        model_cfg = cfg.get("model") if hasattr(cfg, "get") else getattr(cfg, "model", None)
    if model_cfg is None:
        model_cfg = state.get("args")
    if not hasattr(model_cfg, "get"):
        return getattr(model_cfg, "arch", None) or getattr(model_cfg, "_name", None)
    return model_cfg.get("arch", None) or model_cfg.get("_name", None)  # a dataclass config names it _name


def decompress_if_compressed(state, path, arg_overrides=None):
    """A compressed checkpoint becomes the dense one it was made from; any other state passes unchanged."""
    return decompress_state(state, path) if is_compressed(state) else state


def check_cpu_int8_override(state, path, arg_overrides=None):
    """Refuse ``--model-overrides "{'cpu_int8': True}"`` for a model class that does not read the option."""
    if arg_overrides and arg_overrides.get(CPU_INT8_OPTION) and isinstance(state, dict):
        arch = _model_arch(state)
        model_cls = ARCH_MODEL_REGISTRY.get(arch)
        if not getattr(model_cls, "supports_cpu_int8", False):
            raise CheckpointLoadError(
                f"--model-overrides {CPU_INT8_OPTION}: checkpoint {path} holds a {arch!r} model "
                f"({getattr(model_cls, '__name__', 'unknown class')}), which does not read this option; it is "
                "supported by lite_transformer models. For other models call "
                "lite_fairseq.compression.quantize_dynamic_for_cpu(model) from Python.")
    return state
