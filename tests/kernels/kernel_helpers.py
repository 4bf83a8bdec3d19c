"""Shared bits of the kernel tests: the device the Triton kernels run on here, and a skip when Triton is missing."""

import pytest
import torch

from lite_fairseq.kernels import triton_available

# compiled kernels on a GPU; Triton's interpreter (TRITON_INTERPRET=1, set in conftest.py) on the CPU
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

needs_triton = pytest.mark.skipif(not triton_available(), reason="Triton is not installed")
needs_cuda = pytest.mark.gpu  # skipped without a CUDA device (tests/conftest.py)
