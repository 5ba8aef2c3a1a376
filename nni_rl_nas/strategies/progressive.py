"""Progressive NAS (Liu et al., 2018): grow the network one layer at a time, a learned predictor
deciding which expansions are worth training.

Over a space whose depth is searched (``space.depth: [1, 2, 3, 4]``), level by level:

1. Level 1 trains every architecture of the smallest depth (or ``first_level`` of them, drawn at
   random). A decision that belongs to no layer (the ``stages`` encoder's dense width) is made
   here with the first layer's, and kept by every expansion.
2. Each next level takes the ``beam`` best-scoring architectures of the depth before (over every
   seed each has run, when the search races), expands each
   by the next depth's new layers with every choice the space offers, fits the predictor
   (:mod:`nni_rl_nas.predictor`) to every score so far, and trains the ``beam`` expansions it
   predicts best (by mean + ``optimism`` x spread).
3. The search ends after the deepest level, or when the budget is spent.

A level starts once every trial of the level before has ended, so trial slots idle at a level's
end; the requests refused meanwhile are filled when the next level starts (:mod:`nni_rl_nas.tuner`).
Each trial's parameters carry its level and the score the predictor gave it (``proposal``), which
its result and the report show beside the score it got; the level's rank correlation between the
two is logged and kept in the state.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np

from ..options import ProgressiveOptions
from ..predictor import ArchitectureEncoder, EnsemblePredictor
from ..ranking import rank_correlation
from ..search_space import Point
from ..spaces.base import DEPTH_LABEL
from .base import SearchStrategy, TrialRecord

logger = logging.getLogger(__name__)


class ProgressiveStrategy(SearchStrategy):
    options_class = ProgressiveOptions
    options: ProgressiveOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        self.depths = self.space.depths
        deepest = max(self.depths)
        self.encoder = ArchitectureEncoder(
            self.choices, [self._labels(layer, layer) for layer in range(1, deepest + 1)]
        )
        owned = {DEPTH_LABEL, *self._labels(1, deepest)}
        # decided with the first level and kept after it, as a layer's are: a dense head's width
        self._layerless = [label for label in self.choices if label not in owned]
        self.predictor = EnsemblePredictor(self.encoder.size, self.options.predictor, self.options.seed)
        self.levels: list[dict[str, Any]] = []  # per level: depth, candidates, proposals, rank correlation
        self._queue: list[dict[str, Any]] = []  # the current level's proposals not yet given out
        self._given: dict[int, dict[str, Any]] = {}  # trial id -> its proposal, while it runs
        self.trained: list[dict[str, Any]] = []  # proposals whose trials ended, with their objective (None: failed)
        self._start_level(self._first_level())

    # -- levels -----------------------------------------------------------------------------------

    def _first_level(self) -> list[dict[str, Any]]:
        candidates = self._architectures(self.depths[0], [{}])
        if self.options.first_level is not None and self.options.first_level < len(candidates):
            picked = self.rng.choice(len(candidates), self.options.first_level, replace=False)
            candidates = [candidates[index] for index in sorted(picked)]
        return [{"point": point, "predicted_score": None, "predicted_spread": None} for point in candidates]

    def _architectures(self, depth: int, parents: list[Point]) -> list[Point]:
        """Each parent (``{}``: none) grown to ``depth`` with every choice of the new layers, as full points."""
        grown = []
        for parent in parents:
            grown_from = self.space.depth_of(parent) if parent else 0
            kept, new = self._labels(1, grown_from), self._labels(grown_from + 1, depth)
            (new if grown_from == 0 else kept).extend(self._layerless)
            for values in itertools.product(*(self.choices[label] for label in new)):
                grown.append(
                    self.space.with_unused_layers(
                        {**{label: parent[label] for label in kept}, **dict(zip(new, values)), DEPTH_LABEL: depth}
                    )
                )
        return grown

    def _labels(self, first: int, last: int) -> list[str]:
        """The decisions of layers ``first`` to ``last``."""
        return [label for layer in range(first, last + 1) for label in self.space.layer_labels(layer)]

    def _start_level(self, proposals: list[dict[str, Any]]) -> None:
        depth = self.space.depth_of(proposals[0]["point"])
        self.levels.append(
            {"level": len(self.levels) + 1, "depth": depth, "proposals": len(proposals), "rank_correlation": None}
        )
        for proposal in proposals:
            proposal["level"] = len(self.levels)
        self._queue = proposals
        logger.info("level %d: depth %d, %d architectures to train", len(self.levels), depth, len(proposals))

    def _finish_level(self) -> None:
        """The level's trials have all ended: score the predictor on them and start the next level."""
        level = self.levels[-1]
        scored = [
            trial for trial in self.trained if trial["level"] == level["level"] and trial["objective"] is not None
        ]
        predicted = [trial for trial in scored if trial["predicted_score"] is not None]
        if predicted:
            level["rank_correlation"] = rank_correlation(
                [trial["predicted_score"] for trial in predicted], [trial["objective"] for trial in predicted]
            )
            logger.info(
                "level %d: predictor's rank correlation with the scores %s", level["level"], level["rank_correlation"]
            )
        deeper = [depth for depth in self.depths if depth > level["depth"]]
        # by what every seed each has run says, once the race has given some more than their first
        parents = sorted(scored, key=self._pooled_objective, reverse=True)[: self.options.beam]
        if not deeper or not parents:
            logger.info("progressive search done at depth %d", level["depth"])
            return
        known = {self.name_of(trial["point"]) for trial in self.trained}
        candidates = [
            point
            for point in self._architectures(deeper[0], [trial["point"] for trial in parents])
            if self.name_of(point) not in known
        ]
        if not candidates:
            logger.info("progressive search done: every expansion of depth %d is trained", level["depth"])
            return
        self._start_level(self._ranked(candidates)[: self.options.beam])
        self.levels[-1]["candidates"] = len(candidates)

    def _pooled_objective(self, trial: dict[str, Any]) -> float:
        """A scored trial's architecture by every seed the race has given it (its own objective until
        the race has recorded it)."""
        known = self.known_objective(trial["point"])
        return trial["objective"] if known is None else known

    def _ranked(self, candidates: list[Point]) -> list[dict[str, Any]]:
        """The candidates as proposals, best predicted first, the predictor fitted to every score so far."""
        # in a fixed order, so that the fit does not depend on the order trials finished in
        scored = sorted(
            (trial for trial in self.trained if trial["objective"] is not None),
            key=lambda trial: self.name_of(trial["point"]),
        )
        self.predictor.fit(
            np.stack([self._features(trial["point"]) for trial in scored]),
            np.array([trial["objective"] for trial in scored], dtype=np.float32),
        )
        mean, spread = self.predictor.predict(np.stack([self._features(point) for point in candidates]))
        order = np.argsort(-(mean + self.options.predictor.optimism * spread), kind="stable")
        return [
            {
                "point": candidates[index],
                "predicted_score": float(mean[index]),
                "predicted_spread": float(spread[index]),
            }
            for index in order
        ]

    def _features(self, point: Point) -> np.ndarray:
        return self.encoder.encode(point, self.space.depth_of(point))

    # -- the strategy's interface ------------------------------------------------------------------

    def propose(self, trial_id: int) -> Point | None:
        if not self._queue:
            return None  # the level's last trials are still running, or the search is done
        proposal = self._queue.pop(0)
        self._given[trial_id] = proposal
        return proposal["point"]

    def proposal_details(self, trial_id: int) -> dict[str, Any]:
        proposal = self._given[trial_id]
        return {
            "level": proposal["level"],
            "predicted_score": proposal["predicted_score"],
            "predicted_spread": proposal["predicted_spread"],
        }

    def observe(self, record: TrialRecord) -> None:
        self._after_trial(record, self.objective(record))

    def observe_failure(self, record: TrialRecord) -> None:
        self._after_trial(record, None)

    def _after_trial(self, record: TrialRecord, objective: float | None) -> None:
        proposal = None if record.parameter_id is None else self._given.pop(record.parameter_id, None)
        if proposal is None:  # not given out by this search (a trial NNI resumed under another id)
            return
        self.trained.append({**proposal, "objective": objective})
        if not self._queue and not self._given:
            self._finish_level()

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "levels": self.levels,
            "queue": self._queue,
            "given": self._given,
            "trained": self.trained,
            "predictor": self.predictor.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.levels = list(state["levels"])
        self._queue = list(state["queue"])
        self._given = {int(trial_id): proposal for trial_id, proposal in state["given"].items()}
        self.trained = list(state["trained"])
        self.predictor.load_state_dict(state["predictor"])
