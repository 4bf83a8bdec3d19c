"""Mult-Adds and parameter profiler (``lite-fairseq-profile``); see :mod:`lite_fairseq.profiler.counting`."""

from .building import ProfilerError, build
from .counting import DECODER_MODES, PARTS, ProfileResult, count_macs, count_params, profile, profile_model

__all__ = ["ProfilerError", "build", "DECODER_MODES", "PARTS", "ProfileResult", "count_macs", "count_params",
           "profile", "profile_model"]
