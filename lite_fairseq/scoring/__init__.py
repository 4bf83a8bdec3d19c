"""Scoring helpers for the paper's tasks (ROUGE for summarization). Imported on demand only: the package itself does
not need their dependencies."""
