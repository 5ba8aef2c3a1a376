"""Random search: architectures drawn uniformly, each trained at most once."""

from __future__ import annotations

from ..options import RandomOptions
from ..search_space import Point
from .base import SearchStrategy

MAX_DRAWS = 10_000


class RandomStrategy(SearchStrategy):
    """Uniform over the space, without repeats; done once every architecture has been proposed."""

    options_class = RandomOptions
    options: RandomOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        self._proposed: set[str] = set()

    def propose(self, trial_id: int) -> Point | None:
        if len(self._proposed) >= self.size:
            return None
        for _ in range(MAX_DRAWS):
            architecture = {label: values[self.rng.integers(len(values))] for label, values in self.choices.items()}
            name = self.name_of(architecture)
            if name not in self._proposed:
                self._proposed.add(name)
                return architecture
        return None

    def state_dict(self) -> dict:
        return {**super().state_dict(), "proposed": sorted(self._proposed)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._proposed = set(state["proposed"])
