"""ENAS with real weight sharing, in two phases that the NNI web UI shows as trials
(:mod:`.two_phase`).

A search trial trains one supernet and one controller (:mod:`nni_rl_nas.oneshot.enas`); its
intermediate results are the controller's progress: mean sampled-child return, controller
entropy. It ranks ``top_k x searches`` architectures, most likely first, so that stand-ins
exist when searches overlap and NNI reaches ``maxTrialNumber``.
"""

from __future__ import annotations

from ..options import EnasOptions
from .two_phase import TwoPhaseStrategy


class EnasStrategy(TwoPhaseStrategy):
    options_class = EnasOptions
    options: EnasOptions
