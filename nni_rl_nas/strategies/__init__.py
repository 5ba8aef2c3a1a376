"""Search strategies, registered by the short name a config gives as ``tuner: {name: ...}``."""

from __future__ import annotations

from ..config import ConfigError
from .base import SearchStrategy
from .darts import DartsStrategy
from .enas import ENAS
from .grid_search import GridSearch
from .policy_gradient import PolicyGradient
from .random_search import RandomSearch

STRATEGIES: dict[str, type[SearchStrategy]] = {cls.nni_name: cls for cls in (RandomSearch, GridSearch, PolicyGradient, ENAS,
                                                                            DartsStrategy)}


def resolve_strategy(name_or_class: str | None) -> type[SearchStrategy]:
    """Find a strategy by its registered short name (any case) or by its full class name."""
    for strategy in STRATEGIES.values():
        if name_or_class and name_or_class.lower() in (strategy.nni_name.lower(),
                                                       f"{strategy.__module__}.{strategy.__qualname__}".lower()):
            return strategy
    known = [s.nni_name for s in STRATEGIES.values()] + [f"{s.__module__}.{s.__qualname__}" for s in STRATEGIES.values()]
    raise ConfigError(f"tuner: got {name_or_class!r}; fix: name one of {known}")
