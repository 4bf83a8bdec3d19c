"""``lite-fairseq-options [--arch ARCH]`` (or ``python -m lite_fairseq.models.options``): every option of a Lite
Transformer model, with its help and its default for ARCH (the preset's value; ``None`` where the model derives the
value, as the help says).

fairseq 0.12's ``fairseq-train --arch lite_transformer --help`` prints its help before the model's options are
added, so it lists none of them; this command does. Each option is shown under both of its spellings: the
command-line flag (``--encoder-kernel-size-list``) and the fairseq-hydra-train config key
(``model.encoder_kernel_size_list``).
"""

import argparse
import sys
import textwrap
from typing import List, NamedTuple, Optional, Tuple

from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_NAME_REGISTRY

from .config import NON_OPTION_FIELDS, OPTIONS_COMMAND, option_actions, option_name
from .lite_transformer_lm_options import add_lite_transformer_lm_args
from .lite_transformer_options import add_lite_transformer_args

MODEL_OPTIONS = {"lite_transformer": add_lite_transformer_args, "lite_transformer_lm": add_lite_transformer_lm_args}


class OptionRow(NamedTuple):
    flags: str  # "--encoder-attn-branch-heads, --encoder-attention-heads"
    key: str  # config key: "encoder_attn_branch_heads"
    aliases: Tuple[str, ...]  # other config keys for the same option: ("encoder_attention_heads",)
    metavar: Optional[str]
    default: object
    help: str


def lite_architectures() -> List[str]:
    return sorted(a for a, m in ARCH_MODEL_NAME_REGISTRY.items() if m in MODEL_OPTIONS)


def option_rows(arch: str) -> List[OptionRow]:
    """The options of ``arch``'s model, in definition order, with ``arch``'s defaults."""
    if arch not in lite_architectures():
        raise ValueError(f"--arch {arch!r} is not a Lite Transformer architecture; choose one of "
                         f"{', '.join(lite_architectures())}")
    defaults = argparse.Namespace()
    ARCH_CONFIG_REGISTRY[arch](defaults)
    rows = []
    for action in option_actions(MODEL_OPTIONS[ARCH_MODEL_NAME_REGISTRY[arch]]):
        metavar = action.metavar or ("{" + ",".join(map(str, action.choices)) + "}" if action.choices else None)
        aliases = tuple(option_name(f) for f in action.option_strings if option_name(f) != action.dest)
        rows.append(OptionRow(", ".join(action.option_strings), action.dest, aliases, metavar,
                              getattr(defaults, action.dest, None), action.help or ""))
    return rows


def format_options(arch: str) -> str:
    rows = option_rows(arch)
    model = ARCH_MODEL_NAME_REGISTRY[arch]
    lines = [f"Options of --arch {arch} (model {model}), with this architecture's defaults. On the command line: "
             "--option VALUE (booleans also --option False); in a fairseq-hydra-train config or override: "
             "model.key=VALUE (+model.key=VALUE for a key the config does not list).", ""]
    for row in rows:
        flag = f"{row.flags} {row.metavar}" if row.metavar else row.flags
        keys = ", ".join(f"model.{k}" for k in (row.key,) + row.aliases)
        lines.append(f"{flag}   [{keys}]   default: {row.default!r}")
        lines.extend(textwrap.wrap(row.help, width=100, initial_indent="    ", subsequent_indent="    "))
    lines += ["", "Config keys that are not command-line options of the model:"]
    for key, (_, help_) in NON_OPTION_FIELDS.items():
        if model != "lite_transformer_lm" and key == "tokens_per_sample":
            continue
        lines.append(f"model.{key}")
        lines.extend(textwrap.wrap(help_, width=100, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=OPTIONS_COMMAND, description="List every option of a Lite Transformer model with its help and its "
                                          "default for an architecture.")
    parser.add_argument("--arch", default="lite_transformer", metavar="ARCH",
                        help="architecture whose defaults are shown (default: lite_transformer); "
                             "--list-archs names them all")
    parser.add_argument("--list-archs", action="store_true", help="print the Lite Transformer architectures")
    opts = parser.parse_args(argv)
    if opts.list_archs:
        print("\n".join(lite_architectures()))
        return 0
    try:
        print(format_options(opts.arch))
    except ValueError as err:
        print(f"{OPTIONS_COMMAND}: error: {err}", file=sys.stderr)
        return 2
    return 0


def console_main():
    sys.exit(main())


if __name__ == "__main__":
    console_main()
