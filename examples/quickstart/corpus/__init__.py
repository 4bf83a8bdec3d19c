"""Quickstart: a built-in, deterministic German-like -> English corpus and its helpers."""
