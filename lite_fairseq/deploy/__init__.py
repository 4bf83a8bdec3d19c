"""On-device deployment (issue 14): export a trained translation model to ExecuTorch or ONNX and decode it
without fairseq.

* ``lite-fairseq-export`` / ``python -m lite_fairseq.deploy.export`` (:mod:`.export`) writes the encoder and one
  decoder step as separate programs, the dictionaries, a JSON manifest and a copy of :mod:`.runtime`.
* ``python -m lite_fairseq.deploy DIR`` (or ``python DIR/runtime.py DIR``) translates BPE-ed lines from stdin
  with greedy or beam search; the runtime needs numpy and the runtime's Python bindings only.

This package sits above :mod:`lite_fairseq.models`; nothing in the plugin imports it, and the runtimes
(``requirements-deploy.txt``) are imported only when an export or a decode asks for them.
"""
