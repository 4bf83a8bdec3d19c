"""Kernel tests run Triton's CPU interpreter where there is no GPU.

TRITON_INTERPRET must be set before Triton is first imported, so it is set here, at collection time, and only
when no CUDA device exists (with one, the same tests run the compiled kernels on the GPU).
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
