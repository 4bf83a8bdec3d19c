"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin.

Install the pinned environment with ``bash scripts/setup_env.sh`` (see README.md). Installing this package
alone (``pip install --no-deps -e .``) assumes torch and a fairseq distribution are already there: fairseq is
deliberately not a dependency, because it comes under several distribution names (ve-fairseq, fairseq-fixed,
a user's own checkout) that all import as ``fairseq``.

Optional extras: ``plot`` (matplotlib: trade-off plots, attention maps), ``rouge`` (ROUGE for summarization),
``logging`` (tensorboardX, for ``fairseq-train --tensorboard-logdir``), ``dev`` (tests and linter), ``deploy``
(ONNX Runtime and ExecuTorch, for ``lite-fairseq-export``).
The build system and the ruff and pytest settings are in pyproject.toml.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_version():
    """The one version string, from lite_fairseq/version.py (read as text: importing the package needs torch)."""
    text = (HERE / "lite_fairseq" / "version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if not match:
        raise RuntimeError('lite_fairseq/version.py must define __version__ = "X.Y.Z"')
    return match.group(1)


readme = HERE / "README.md"

setup(
    name="lite-fairseq",
    version=read_version(),
    description="Lite Transformer (Long-Short Range Attention) as a fairseq plugin",
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else "",
    long_description_content_type="text/markdown",
    license="MIT",
    # ve-fairseq, the fairseq build requirements-fairseq.txt pins, has wheels for CPython 3.11 and 3.12 only.
    python_requires=">=3.11,<3.13",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    packages=find_packages(include=["lite_fairseq", "lite_fairseq.*"]),
    install_requires=[
        "torch>=2.6",  # torch.serialization.add_safe_globals (weights_only loading)
        "numpy",
        "omegaconf",
        "sacrebleu>=2.0",
        "subword-nmt>=0.3.8",
    ],
    extras_require={
        "plot": ["matplotlib>=3.5"],
        "rouge": ["rouge-score>=0.1.2", "nltk", "absl-py"],
        "logging": ["tensorboardX>=2.6"],
        "dev": ["pytest>=8", "pytest-xdist>=3.8", "hypothesis", "triton", "ruff==0.17.5"],
        # lite-fairseq-export and its runtimes; exact pins in requirements-deploy.txt
        "deploy": ["onnxruntime>=1.32", "onnx>=1.23", "onnxscript>=0.7", "executorch>=1.5", "torchao>=0.18"],
    },
    entry_points={
        "console_scripts": [
            "lite-fairseq-profile=lite_fairseq.profiler.cli:console_main",
            "lite-fairseq-convert=lite_fairseq.convert.cli:console_main",
            "lite-fairseq-compress=lite_fairseq.compression.cli:console_main",
            "lite-fairseq-export=lite_fairseq.deploy.export:console_main",
            "lite-fairseq-options=lite_fairseq.models.options:console_main",
            "lite-fairseq-search=lite_fairseq.search.cli:console_main",
        ],
    },
)
