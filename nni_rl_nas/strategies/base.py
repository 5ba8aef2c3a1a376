"""One base class for every search strategy: a propose/observe object that knows nothing of NNI.

Lifecycle of a trial, as any driver runs it (NNI through :mod:`nni_rl_nas.tuner`, or
:func:`nni_rl_nas.strategies.driver.drive` in benchmarks and tests):

1. The strategy is built from ``tuner.classArgs``: ``space`` and ``task`` plus the strategy's
   own options, declared once in :mod:`nni_rl_nas.options` (``options_class``) and parsed and
   checked by :func:`nni_rl_nas.experiment.parse_class_args`.
2. :meth:`SearchStrategy.ask` gives a new trial's parameters: a point of the search space (a
   dict of the architecture's choices and of the hyperparameters searched beside them, see
   :mod:`nni_rl_nas.search_space`), plus its name. It raises :class:`NothingToPropose` with the
   reason when there is nothing to propose now (the budget is spent, the space is exhausted, or
   a weight-sharing search has not finished yet).
3. The trial trains that architecture; its final result reaches :meth:`SearchStrategy.tell`,
   which records it and calls the hook :meth:`SearchStrategy.observe`.
4. Every trial's end reaches :meth:`SearchStrategy.tell_end`; one that ended without a result
   (crash, kill, timeout) calls the hook :meth:`SearchStrategy.observe_failure`.

A subclass implements :meth:`propose`; ``observe``, ``observe_failure`` and
``proposal_details`` are optional hooks that do nothing by default. Results are kept as data in
:attr:`SearchStrategy.history`, and the whole state (``state_dict``: tensors and plain data) is
what a resumed search restores.

Cost budget (``budget: {env_steps: N, wall_clock_s: T}``, any strategy): once the env steps of
finished trials (search trials included) or the search's wall-clock reach it, the strategy
proposes no new trial; running trials finish. Both count across resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..experiment import parse_class_args
from ..options import BASELINE_KEY, PROPOSAL_KEY, StrategyOptions
from ..search_space import Point

logger = logging.getLogger(__name__)

ARCHITECTURE_NAME_KEY = "architecture"


class NothingToPropose(Exception):
    """No new trial now; the message says why (budget spent, space exhausted, waiting for a search)."""


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as a strategy saw it."""

    parameter_id: int
    architecture: Point
    name: str
    score: float | None  # None: the trial failed without a result
    result: dict[str, Any]
    baseline: bool = False  # a baseline trial (``baselines``): shown beside the search, not learnt from


class SearchStrategy(ABC):
    options_class: ClassVar[type[StrategyOptions]]

    def __init__(self, space: dict[str, Any] | None = None, task: dict[str, Any] | None = None,
                 **options: Any) -> None:
        self.spec = parse_class_args({"space": space or {}, "task": task, **options}, self.options_class.strategy)
        self.options = self.spec.strategy_options
        self.budget = self.options.budget
        self._spent_env_steps = 0
        self._clock = time.monotonic()  # this run's start; runs before a resume are in _earlier_seconds
        self._earlier_seconds = 0.0
        self.search_space = self.spec.build_search_space()
        self.space = self.search_space.space
        self.choices = self.search_space.choices
        self.size = self.search_space.size
        self.rng = np.random.default_rng(self.options.seed)
        self.history: list[TrialRecord] = []
        self._running: dict[int, Point] = {}
        # a controller strategy appends, after each update, {"trials": n, "top_probabilities": {name: p}}:
        # the report's heatmap of what the controller has come to prefer
        self.controller_progress: list[dict[str, Any]] = []
        self._baselines_left = list(self.options.baselines)
        self._running_baselines: set[int] = set()
        logger.info("%s over %s points: %s", type(self).__name__, self.size, self.search_space.nni_search_space())

    @classmethod
    def strategy_name(cls) -> str:
        """The short name a config uses (``tuner: {name: ...}``) once ``nni-rl-nas setup`` has run."""
        return cls.options_class.strategy

    def name_of(self, point: Point) -> str:
        return self.search_space.name(point)

    def running_names(self) -> set[str]:
        """Names of the architectures whose trials are still running."""
        return {self.name_of(architecture) for architecture in self._running.values()}

    @abstractmethod
    def propose(self, trial_id: int) -> Point | None:
        """The point (architecture and searched hyperparameters) trial ``trial_id`` trains, or ``None``
        when the strategy is done (NNI's tuners key their proposals by the trial's id; the others
        need not read it)."""

    def observe(self, record: TrialRecord) -> None:
        """A trial finished with a score."""

    def objective(self, record: TrialRecord) -> float:
        """What a learning strategy learns from: the score, less the size penalty of ``cost``."""
        return self.options.cost.objective(record.score, record.result.get("parameters"))

    def observe_failure(self, record: TrialRecord) -> None:
        """A trial ended without a score."""

    def spent(self) -> dict[str, float]:
        """The search's cost so far: env steps of finished trials, and wall-clock across resumes."""
        return {"env_steps": self._spent_env_steps,
                "wall_clock_s": round(self._earlier_seconds + time.monotonic() - self._clock, 1)}

    def budget_spent(self) -> str | None:
        """Which budget is spent, in words, or None."""
        spent = self.spent()
        for name, limit in dataclasses.asdict(self.budget).items():
            if limit is not None and spent[name] >= limit:
                return f"budget.{name} {limit} spent ({spent[name]})"
        return None

    def ask(self, trial_id: int) -> dict[str, Any]:
        """Parameters of trial ``trial_id``: an architecture and its name."""
        spent = self.budget_spent()
        if spent:
            logger.info("%s: %s; no new trials", type(self).__name__, spent)
            raise NothingToPropose(f"{type(self).__name__}: {spent}")
        return self.next_parameters(trial_id)

    def next_parameters(self, trial_id: int) -> dict[str, Any]:
        """The baselines first, then the strategy's own proposals."""
        if self._baselines_left:
            architecture = self.search_space.parse_name(self._baselines_left.pop(0))
            self._running[trial_id] = architecture
            self._running_baselines.add(trial_id)
            return {**architecture, ARCHITECTURE_NAME_KEY: self.name_of(architecture), BASELINE_KEY: True}
        architecture = self.propose(trial_id)
        if architecture is None:
            raise NothingToPropose(f"{type(self).__name__} has no architecture left to propose")
        self._running[trial_id] = architecture
        details = self.proposal_details(trial_id)
        return {**architecture, ARCHITECTURE_NAME_KEY: self.name_of(architecture),
                **({PROPOSAL_KEY: details} if details else {})}

    def proposal_details(self, trial_id: int) -> dict[str, Any]:
        """What the strategy expected of the trial it just proposed (plain data), which the trial's
        result repeats; none by default."""
        return {}

    def tell(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        """Trial ``trial_id`` (None: unknown to this run) reported its final ``result``."""
        self._spent_env_steps += int(result.get("env_steps") or 0)
        self.record_result(trial_id, parameters, result)

    def tell_end(self, trial_id: int, success: bool) -> None:
        """Trial ``trial_id`` ended; without a result before it, it failed."""
        self.record_end(trial_id, success)

    def record_result(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        # a running trial is known by its id; NNI may hand a resumed trial's parameters over as text
        baseline = trial_id in self._running_baselines if trial_id in self._running else bool(
            parameters.get(BASELINE_KEY))
        architecture = self._running.pop(trial_id, None) or {label: parameters[label] for label in
                                                             self.search_space.labels if label in parameters}
        self._running_baselines.discard(trial_id)
        record = TrialRecord(trial_id, architecture, self.name_of(architecture), float(result["default"]), result,
                             baseline)
        self.history.append(record)
        logger.info("trial %s: %s%s scored %.4f", trial_id, record.name, " (baseline)" if baseline else "", record.score)
        if not baseline:  # the strategy did not choose it: nothing to learn from
            self.observe(record)

    def record_end(self, trial_id: int, success: bool) -> None:
        architecture = self._running.pop(trial_id, None)
        if architecture is None:  # its result already arrived
            return
        baseline = trial_id in self._running_baselines
        self._running_baselines.discard(trial_id)
        record = TrialRecord(trial_id, architecture, self.name_of(architecture), None, {}, baseline)
        self.history.append(record)
        logger.warning("trial %d: %s ended without a result", trial_id, record.name)
        if not baseline:
            self.observe_failure(record)

    def has_result(self, parameters: dict[str, Any]) -> bool:
        """Whether the state already holds the result of the trial that ran ``parameters``."""
        name, baseline = parameters.get(ARCHITECTURE_NAME_KEY), bool(parameters.get(BASELINE_KEY))
        return any(record.name == name and record.baseline == baseline and record.score is not None
                   for record in self.history)

    def running_trial_of(self, parameters: dict[str, Any]) -> int | None:
        """The running trial that was given ``parameters``, if any."""
        name = parameters.get(ARCHITECTURE_NAME_KEY)
        return next((trial_id for trial_id, a in self._running.items() if self.name_of(a) == name), None)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed search needs; subclasses add their learned state."""
        return {
            "history": [dataclasses.asdict(record) for record in self.history],
            "running": self._running,
            "rng": self.rng.bit_generator.state,
            "spent": self.spent(),
            "baselines_left": self._baselines_left,
            "running_baselines": sorted(self._running_baselines),
            "controller_progress": self.controller_progress,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [TrialRecord(**record) for record in state["history"]]
        self._running = dict(state["running"])
        self.rng.bit_generator.state = state["rng"]
        self._spent_env_steps = state["spent"]["env_steps"]
        self._baselines_left = list(state.get("baselines_left", []))
        self._running_baselines = set(state.get("running_baselines", []))
        self.controller_progress = list(state.get("controller_progress", []))
        self._earlier_seconds, self._clock = state["spent"]["wall_clock_s"], time.monotonic()
