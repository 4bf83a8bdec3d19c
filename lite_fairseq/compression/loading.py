"""What the plugin's checkpoint loader does after fairseq has read a file (called from
:mod:`lite_fairseq.checkpoint_safety`): decompress a compressed checkpoint into an ordinary dense one, and refuse
the ``cpu_int8`` model override for models that cannot honour it instead of ignoring it silently."""

from lite_fairseq.checkpoint_safety import CheckpointLoadError

from .quantization import CPU_INT8_OPTION
from .storage import decompress_state, is_compressed


def _model_arch(state):
    cfg = state.get("cfg")
    model_cfg = None
    if cfg is not None:
        model_cfg = cfg.get("model") if hasattr(cfg, "get") else getattr(cfg, "model", None)
    if model_cfg is None:
        model_cfg = state.get("args")
    return getattr(model_cfg, "arch", None) if not hasattr(model_cfg, "get") else model_cfg.get("arch", None)


def post_load(state, path, arg_overrides=None):
    if is_compressed(state):
        state = decompress_state(state, path)
    if arg_overrides and arg_overrides.get(CPU_INT8_OPTION) and isinstance(state, dict):
        from fairseq.models import ARCH_MODEL_REGISTRY

        arch = _model_arch(state)
        model_cls = ARCH_MODEL_REGISTRY.get(arch)
        if not getattr(model_cls, "supports_cpu_int8", False):
            raise CheckpointLoadError(
                f"--model-overrides {CPU_INT8_OPTION}: checkpoint {path} holds a {arch!r} model "
                f"({getattr(model_cls, '__name__', 'unknown class')}), which does not read this option; it is "
                "supported by lite_transformer models. For other models call "
                "lite_fairseq.compression.quantize_dynamic_for_cpu(model) from Python.")
    return state
