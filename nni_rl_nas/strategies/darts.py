"""DARTS (RL-DARTS) over an image-encoder space, in two phases that the NNI web UI shows as
trials (:mod:`.two_phase`).

A search trial trains an agent whose encoder is the DARTS supernet with the agent's own RL loss,
the architecture weights and the network weights updated in turns, then discretises it
(:mod:`nni_rl_nas.oneshot.darts`); its intermediate results are the supernet agent's return and
the architecture weights' entropy. Each search derives one genotype; retrain trials train each
derived genotype from scratch over the task's seeds (3 by default for the shipped configs).
Compare with ``RlNasRandom`` over the same space at equal env steps.
"""

from __future__ import annotations

from ..options import DartsOptions
from .two_phase import TwoPhaseStrategy


class DartsStrategy(TwoPhaseStrategy):
    options_class = DartsOptions
    options: DartsOptions
