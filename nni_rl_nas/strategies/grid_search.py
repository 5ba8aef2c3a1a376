"""Exhaustive grid: every architecture of the space once, in the space's own order."""

from __future__ import annotations

import itertools

from ..options import GridOptions
from ..search_space import Point
from .base import SearchStrategy


class GridStrategy(SearchStrategy):
    options_class = GridOptions
    options: GridOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        self._grid = [dict(zip(self.choices, values)) for values in itertools.product(*self.choices.values())]
        self._proposed = 0

    def propose(self, trial_id: int) -> Point | None:
        if self._proposed == len(self._grid):
            return None
        self._proposed += 1
        return self._grid[self._proposed - 1]

    def state_dict(self) -> dict:
        return {**super().state_dict(), "proposed": self._proposed}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._proposed = state["proposed"]
