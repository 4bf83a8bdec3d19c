"""The package version, in one place: ``lite_fairseq.__version__`` imports it and setup.py reads it."""

__version__ = "0.1.0"
