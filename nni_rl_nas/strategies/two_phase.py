"""Two-phase weight-sharing strategies (ENAS, DARTS), shown in the NNI web UI as trials.

1. Search: ``searches`` search trials (seeds ``seed``, ``seed + 1`` ...), each training one
   weight-sharing agent and deriving architectures from it; their intermediate results are the
   search's progress. Set ``searches`` to ``trialConcurrency`` so every trial slot is busy.
2. Retrain: each search's ``top_k`` derived architectures, as ordinary trials trained from
   scratch (over the task's seeds), each architecture once, in the order the searches finish.
   Where an earlier search already queued one, the search's next ranked architecture stands in
   (a search may rank more than ``top_k``), so ``searches x (1 + top_k)`` trials run when the
   searches rank enough.

NNI asks for one new trial per finished trial. While the searches run and no architecture is
derived yet, a request beyond ``searches`` gets "no more trials"; the tuner adapter fills it once
a search has derived architectures (:mod:`nni_rl_nas.tuner`, refused requests).

On ``nnictl resume`` the saved state (searches started and finished, the retrain queue) comes
back; a search trial that was running at the stop is rerun by NNI from its beginning.

A subclass names its options class (:mod:`nni_rl_nas.options`), which names the search
(``search_name``) and how many architectures a search derives (``derived_per_search``). The search trial
itself runs on the trial side (:mod:`nni_rl_nas.oneshot`), which this module never imports.
"""

from __future__ import annotations

import logging
from typing import Any

from ..options import SEARCH_PHASE, TwoPhaseOptions
from ..spaces import Architecture
from .base import ARCHITECTURE_NAME_KEY, SearchStrategy, TrialRecord

logger = logging.getLogger(__name__)


class TwoPhaseStrategy(SearchStrategy):
    options: TwoPhaseOptions

    def __init__(self, space=None, task=None, **options) -> None:
        super().__init__(space, task, **options)
        self.first_seed, self.searches, self.top_k = (
            self.options.seed,
            self.options.searches,
            self.options.derived_per_search(),
        )
        self.search_name = self.options.search_name
        self._searches_started = 0
        self._searches_running: dict[int, int] = {}  # trial id -> search seed
        self._searches_finished: set[int] = set()
        self._retrain_queue: list[str] = []
        self._queued: set[str] = set()

    def next_parameters(self, trial_id: int) -> dict[str, Any]:
        if self._searches_started < self.searches:
            search_seed = self.first_seed + self._searches_started
            self._searches_started += 1
            self._searches_running[trial_id] = search_seed
            return {
                "phase": SEARCH_PHASE,
                "search_seed": search_seed,
                ARCHITECTURE_NAME_KEY: f"{self.search_name} {search_seed}",
            }
        return super().next_parameters(trial_id)

    def trials_running(self) -> bool:
        return super().trials_running() or bool(self._searches_running) or self._searches_started < self.searches

    def propose(self, trial_id: int) -> Architecture | None:
        if not self._retrain_queue:
            return None
        return self.space.parse_architecture_name(self._retrain_queue.pop(0))

    def record_result(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        if parameters.get("phase") != SEARCH_PHASE:
            super().record_result(trial_id, parameters, result)
            return
        self._searches_running = {
            pid: seed for pid, seed in self._searches_running.items() if seed != parameters["search_seed"]
        }
        self._searches_finished.add(parameters["search_seed"])
        # the search's top_k, with the next most likely standing in for those an earlier search queued
        derived = [name for name in result.get("ranked", result["top_k"]) if name not in self._queued][: self.top_k]
        self._queued.update(derived)
        self._retrain_queue.extend(derived)
        logger.info(
            "search %d derived %s; retrain queue %s", parameters["search_seed"], result["top_k"], self._retrain_queue
        )

    def record_end(self, trial_id: int, success: bool) -> None:
        if trial_id in self._searches_running:
            search_seed = self._searches_running.pop(trial_id)
            logger.error("search %d ended without a result; its architectures will not be retrained", search_seed)
            return
        super().record_end(trial_id, success)

    def has_result(self, parameters: dict[str, Any]) -> bool:
        if parameters.get("phase") == SEARCH_PHASE:
            return parameters["search_seed"] in self._searches_finished
        return super().has_result(parameters)

    def observe(self, record: TrialRecord) -> None:
        logger.info("retrained %s: score %.4f", record.name, record.score)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "searches_started": self._searches_started,
            "searches_running": self._searches_running,
            "searches_finished": sorted(self._searches_finished),
            "retrain_queue": self._retrain_queue,
            "queued": sorted(self._queued),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._searches_started = state["searches_started"]
        self._searches_running = dict(state["searches_running"])
        self._searches_finished = set(state["searches_finished"])
        self._retrain_queue = list(state["retrain_queue"])
        self._queued = set(state["queued"])
