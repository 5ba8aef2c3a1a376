"""Exhaustive grid: every architecture of the space once, in the space's own order."""

from __future__ import annotations

import itertools

from ..spaces import Architecture
from .base import SearchStrategy


class GridSearch(SearchStrategy):
    nni_name = "RlNasGrid"

    def __init__(self, space=None, task=None, seed: int = 0) -> None:
        super().__init__(space, task, seed)
        self._grid = (dict(zip(self.choices, values)) for values in itertools.product(*self.choices.values()))

    def propose(self) -> Architecture | None:
        return next(self._grid, None)
