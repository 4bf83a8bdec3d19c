"""Convert a checkpoint of the authors' ``transformer_multibranch_v2`` model into a ``lite_transformer`` one.

The authors' repository (mit-han-lab/lite-transformer, a fork of an old fairseq) saves checkpoints as
``{"args": argparse.Namespace, "model": state_dict, "optimizer_history": ..., "extra_state": ...}``. This package
reads such a file, translates its options into ``lite_transformer`` command-line options (the branch-type format
``attn:1:248:4`` / ``dynamic:default:248:4`` is the same on both sides), renames the parameters, checks that every
tensor found a place and every place got a tensor, and writes a checkpoint in the layout current fairseq writes
(``cfg`` with the model options as a Namespace), which ``fairseq-generate --user-dir lite_fairseq`` loads.

Usage::

    lite-fairseq-convert authors_checkpoint.pt converted.pt       # or: python -m lite_fairseq.convert
    lite-fairseq-convert authors_checkpoint.pt --print-options    # only show the equivalent options

What the converted model computes: the same outputs as the authors' model (tested end to end on unpadded inputs).
Padded batches: the authors zero padded positions *before* the convolution branch's input projection
(``linear1``), so a padded position enters the convolution as ``linear1``'s bias (after GLU), whereas
``lite_transformer`` by default zeroes it *after* ``linear1`` (exact zeros, so padding never changes real
positions). The converted checkpoint sets ``--conv-mask-before-linear True``, which reproduces the authors'
behaviour (tested at the branch level), so left-padded source batches translate as in their code.

Refused, with a message naming the option or parameter: options the ``lite_transformer`` model cannot represent
(``--conv-linear`` off, adaptive softmax, ``False`` entries in ``--encoder-ffn-list``/``--decoder-ffn-list``,
projected input embeddings, a GLU setting that would apply to dynamic but not to lightweight branches of the same
side, even encoder kernel sizes, convolution biases) and any parameter that maps to nothing.

Modules: :mod:`.defaults` (the authors' architecture defaults), :mod:`.options` (their options translated),
:mod:`.state_dict` (their parameter names renamed), :mod:`.build` (the model built and checked),
:mod:`.checkpoint` (the checkpoint written), :mod:`.cli` (the command line).
"""

from .checkpoint import PADDING_NOTE, convert_file, convert_state
from .cli import cli_main, console_main
from .defaults import AUTHORS_MODEL
from .errors import ConversionError

__all__ = ["AUTHORS_MODEL", "PADDING_NOTE", "ConversionError", "cli_main", "console_main", "convert_file",
           "convert_state"]
