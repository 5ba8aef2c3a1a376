"""Search strategies: NNI-free propose/observe objects, one file each, one shared base.

:mod:`nni_rl_nas.tuner` makes each an NNI tuner; :mod:`.driver` runs one without NNI.
"""

from __future__ import annotations

from .base import STRATEGIES, NothingToPropose, SearchStrategy, TrialRecord
from .darts import DartsStrategy
from .enas import EnasStrategy
from .grid_search import GridStrategy
from .nni_tuner import NniTunerStrategy
from .policy_gradient import PolicyGradientStrategy
from .progressive import ProgressiveStrategy
from .random_search import RandomStrategy

__all__ = [
    "DartsStrategy",
    "EnasStrategy",
    "GridStrategy",
    "NniTunerStrategy",
    "NothingToPropose",
    "PolicyGradientStrategy",
    "ProgressiveStrategy",
    "RandomStrategy",
    "STRATEGIES",
    "SearchStrategy",
    "TrialRecord",
]
