"""The first step of both models' ``build_model``: the options checked and completed before any weight is built."""

from .config import checked_config

DEFAULT_MAX_POSITIONS = 1024


def prepared_args(args, task, config_class, model_name: str, architecture, limits):
    """``args`` checked against the model's dataclass (:func:`.config.checked_config`: an unknown or malformed
    option is named), completed by ``architecture`` (the preset's defaults), and with each unset position limit of
    ``limits`` filled in. ``limits`` maps a limit (``max_target_positions``) to the other options that give it
    (a language model's ``tokens_per_sample``); the first set one wins, the model's options before the task's,
    then :data:`DEFAULT_MAX_POSITIONS`."""
    args = checked_config(args, config_class, model_name)
    architecture(args)
    task_cfg = getattr(task, "cfg", None)
    for limit, also in limits.items():
        if getattr(args, limit, None) is None:
            names = (limit, *also)
            found = [getattr(args, n, None) for n in names] + [getattr(task_cfg, n, None) for n in names]
            setattr(args, limit, next((value for value in found if value), DEFAULT_MAX_POSITIONS))
    return args
