"""Search strategies: NNI-free propose/observe objects, one file each, one shared base.

:mod:`nni_rl_nas.tuner` makes each an NNI tuner; :mod:`.driver` runs one without NNI.
"""

from __future__ import annotations

from .base import NothingToPropose, SearchStrategy, TrialRecord
from .darts import DartsStrategy
from .enas import ENAS
from .grid_search import GridSearch
from .nni_tuner import NniTunerStrategy
from .policy_gradient import PolicyGradient
from .progressive import Progressive
from .random_search import RandomSearch

STRATEGIES: dict[str, type[SearchStrategy]] = {
    strategy.strategy_name(): strategy
    for strategy in (RandomSearch, GridSearch, PolicyGradient, Progressive, ENAS, DartsStrategy, NniTunerStrategy)
}

__all__ = ["DartsStrategy", "ENAS", "GridSearch", "NniTunerStrategy", "NothingToPropose", "PolicyGradient", "Progressive",
           "RandomSearch",
           "STRATEGIES",
           "SearchStrategy", "TrialRecord"]
