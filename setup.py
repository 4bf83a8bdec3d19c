"""lite_fairseq: Lite Transformer (Long-Short Range Attention) as a fairseq plugin.

Install the pinned environment with ``bash scripts/setup_env.sh`` (see README.md). Installing this package
alone (``pip install --no-deps -e .``) assumes torch and a fairseq distribution are already there: fairseq is
deliberately not a dependency, because it comes under several distribution names (ve-fairseq, fairseq-fixed,
a user's own checkout) that all import as ``fairseq``.
"""

from setuptools import find_packages, setup

setup(
    name="lite-fairseq",
    version="0.1.0",
    description="Lite Transformer (Long-Short Range Attention) as a fairseq plugin",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["lite_fairseq", "lite_fairseq.*"]),
    install_requires=[
        "torch>=2.6",  # torch.serialization.add_safe_globals (weights_only loading)
        "numpy",
        "omegaconf",
        "sacrebleu>=2.0",
        "subword-nmt>=0.3.8",
    ],
    entry_points={
        "console_scripts": [
            "lite-fairseq-profile=lite_fairseq.profiler.cli:console_main",
            "lite-fairseq-convert=lite_fairseq.convert.cli:console_main",
            "lite-fairseq-compress=lite_fairseq.compression.cli:console_main",
            "lite-fairseq-options=lite_fairseq.models.options:console_main",
        ],
    },
    license="MIT",
)
