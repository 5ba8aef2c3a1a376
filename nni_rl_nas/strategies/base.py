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

A subclass names its options (``options_class``), which registers it (:data:`STRATEGIES`), and
implements :meth:`propose`; ``observe``, ``observe_failure`` and
``proposal_details`` are optional hooks that do nothing by default. Results are kept as data in
:attr:`SearchStrategy.history`, and the whole state (``state_dict``: tensors and plain data) is
what a resumed search restores.

Seeds (``racing``, ``verdict``; :mod:`nni_rl_nas.racing`): every trial's parameters list the
seeds it trains (``train_seeds``). A proposal first trains on the race's initial search seeds;
the race then asks for more seeds for the architectures that may be the answer, each request
an ordinary trial, before the strategy is asked for a new proposal. The strategy learns from an
architecture's first trial (:meth:`SearchStrategy.observe`); :meth:`SearchStrategy.known_objective`
gives its aggregate over every seed it has run since. The verdict's trials train on its test
seeds, and nothing learns from them: each baseline's whenever a trial slot would otherwise stay
idle (it needs no answer), the race's answer once the search has ended.

Cost budget (``budget: {env_steps: N, wall_clock_s: T}``, any strategy): once the env steps of
finished trials (search trials included) or the search's wall-clock reach it, the strategy
proposes no new architecture; running trials finish. A new architecture is not proposed either
when the env steps left would not cover the seeds the race's answer still needs (at the task's
budget per seed), so the answer's top-up may run past the budget by at most those. The verdict's
test-seed trials are outside it. Both count across resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import is_number
from ..experiment import parse_class_args
from ..options import BASELINE_KEY, PROPOSAL_KEY, TRAIN_SEEDS_KEY, VERDICT_KEY, StrategyOptions
from ..racing import Race
from ..search_space import Point

logger = logging.getLogger(__name__)

ARCHITECTURE_NAME_KEY = "architecture"


class NothingToPropose(Exception):
    """No new trial now; the message says why (budget spent, space exhausted, waiting for a search)."""


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as a strategy saw it."""

    parameter_id: int | None  # None: a trial this run did not start (NNI hands it over on resume)
    architecture: Point
    name: str
    score: float | None  # None: the trial failed without a result
    result: dict[str, Any]
    baseline: bool = False  # a baseline trial (``baselines``): shown beside the search, not learnt from
    seeds: tuple[int, ...] = ()  # the seeds it trained
    verdict: bool = False  # a verdict trial, on the test seeds: shown in the report, learnt from by nothing


# every strategy by its short name, filled as the subclasses that name their options are defined
STRATEGIES: dict[str, type[SearchStrategy]] = {}


class SearchStrategy(ABC):
    options_class: ClassVar[type[StrategyOptions]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass that names its options class is registered under its strategy's short name."""
        super().__init_subclass__(**kwargs)
        if "options_class" in cls.__dict__:
            STRATEGIES[cls.options_class.strategy] = cls

    def __init__(self, space: dict[str, Any] | None = None, task: dict[str, Any] | None = None, **options: Any) -> None:
        self.spec = parse_class_args({"space": space or {}, "task": task, **options}, self.options_class.strategy)
        self.options: StrategyOptions = self.spec.options_as(self.options_class)
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
        racing = self.options.racing
        initial, most, answer = racing.resolved(self.spec.task.seed_count)
        self.race = Race(
            self.options.search_seeds(self.spec.task),
            initial,
            answer,
            racing.rule,
            racing.confidence,
            racing.aggregate,
            racing.quantile,
            racing.pair_baselines,
            finalists=racing.finalists,
            max_seeds=most,
        )
        self._points: dict[str, Point] = {}  # every architecture in the race, by name
        self._running_seeds: dict[int, list[int]] = {}  # trial id -> the seeds it trains
        self._running_verdicts: set[int] = set()
        self._verdict_left: list[str] | None = None  # the answer's verdict trial; None: the search goes on
        # the baselines' test-seed trials, which need no answer: they fill trial slots the search leaves idle
        self._verdict_baselines = list(self.options.baselines) if self.options.verdict.test_seeds else []
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
        if record.score is None:
            raise ValueError(f"trial {record.parameter_id} failed: a failed trial has no objective")
        return self.options.cost.objective(record.score, record.result.get("parameters"))

    def observe_failure(self, record: TrialRecord) -> None:
        """A trial ended without a score."""

    def spent(self) -> dict[str, float]:
        """The search's cost so far: env steps of finished trials, and wall-clock across resumes."""
        return {
            "env_steps": self._spent_env_steps,
            "wall_clock_s": round(self._earlier_seconds + time.monotonic() - self._clock, 1),
        }

    def budget_spent(self) -> str | None:
        """Which budget is spent, in words, or None."""
        spent = self.spent()
        for name, limit in dataclasses.asdict(self.budget).items():
            if limit is not None and spent[name] >= limit:
                return f"budget.{name} {limit} spent ({spent[name]})"
        return None

    def ask(self, trial_id: int) -> dict[str, Any]:
        """Parameters of trial ``trial_id``: an architecture, its name and its seeds."""
        return self.next_parameters(trial_id)

    def next_parameters(self, trial_id: int) -> dict[str, Any]:
        """The baselines first, then the seeds the race asks for, then the strategy's own proposals;
        once the search has ended, the verdict's trials."""
        if self._baselines_left:
            name = self._baselines_left.pop(0)
            point = self._points[name] = self.search_space.parse_name(name)
            return self._issue(trial_id, point, self.race.enter(name, baseline=True), baseline=True)
        spent = self.budget_spent()
        if spent:
            self.race.finish()
        request = self.race.next_request()
        if request is not None:
            return self._issue(
                trial_id, self._points[request[0]], request[1], baseline=self.race.entrants[request[0]].baseline
            )
        reason = spent or self._reserve_reached()
        if reason is None:
            try:
                architecture = self.propose(trial_id)
            except NothingToPropose as nothing:
                architecture, reason = None, str(nothing)
            if architecture is not None:
                name = self.name_of(architecture)
                self._points[name] = architecture
                details = self.proposal_details(trial_id)
                return self._issue(trial_id, architecture, self.race.enter(name), proposal=details)
            reason = reason or f"{type(self).__name__} has no architecture left to propose"
        if self._verdict_baselines:
            name = self._verdict_baselines.pop(0)
            return self._issue(trial_id, self._points[name], self.options.verdict.seeds(), baseline=True, verdict=True)
        if not self.trials_running():
            parameters = self._after_search(trial_id)
            if parameters is not None:
                return parameters
        logger.info("%s: %s; no new trials", type(self).__name__, reason)
        raise NothingToPropose(f"{type(self).__name__}: {reason}")

    def _issue(
        self,
        trial_id: int,
        point: Point,
        seeds: list[int],
        baseline: bool = False,
        verdict: bool = False,
        proposal: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._running[trial_id], self._running_seeds[trial_id] = point, list(seeds)
        if baseline:
            self._running_baselines.add(trial_id)
        if verdict:
            self._running_verdicts.add(trial_id)
        return {
            **point,
            ARCHITECTURE_NAME_KEY: self.name_of(point),
            TRAIN_SEEDS_KEY: list(seeds),
            **({BASELINE_KEY: True} if baseline else {}),
            **({VERDICT_KEY: True} if verdict else {}),
            **({PROPOSAL_KEY: proposal} if proposal else {}),
        }

    def _reserve_reached(self) -> str | None:
        """Why no new architecture in a race: the env steps left, less the running trials' (which NNI
        runs side by side, and the budget counts only once they end), cover only the seeds the
        answer still needs, or nothing more."""
        limit = self.budget.env_steps
        if limit is None or not self.options.racing.active or not self.spec.is_rl:
            return None
        needed = self.race.seeds_to_finish()
        running = sum(len(seeds) for seeds in self._running_seeds.values())
        if self._spent_env_steps + (running + needed) * self.spec.rl_task.budget >= limit:
            return (
                f"budget.env_steps {limit}: what is left is kept for the {running} seed trainings running "
                f"and the answer's {needed} remaining"
            )
        return None

    def finished(self) -> bool:
        """Nothing will ever be proposed again: the verdict's trials are all handed out, or the search
        ended without a verdict to run (trials may still be running)."""
        return self._verdict_left == [] and not self._verdict_baselines

    def trials_running(self) -> bool:
        """Whether any trial of the search is still running (a subclass adds its own kinds); a
        verdict trial is not the search's: the answer's may start beside a baseline's."""
        return any(trial_id not in self._running_verdicts for trial_id in self._running)

    def _after_search(self, trial_id: int) -> dict[str, Any] | None:
        """Nothing runs and nothing is left to propose: the race finishes, then the verdict's trials."""
        self.race.finish()
        request = self.race.next_request()
        if request is not None:
            return self._issue(
                trial_id, self._points[request[0]], request[1], baseline=self.race.entrants[request[0]].baseline
            )
        if self._verdict_left is None:
            answer, seeds = self.race.answer, self.options.verdict.seeds()
            self._verdict_left = [answer] if answer and seeds else []
            if self._verdict_left:
                logger.info("search ended with answer %s: it trains on the test seeds %s", answer, seeds)
        if not self._verdict_left:
            return None
        return self._issue(
            trial_id, self._points[self._verdict_left.pop(0)], self.options.verdict.seeds(), verdict=True
        )

    def proposal_details(self, trial_id: int) -> dict[str, Any]:
        """What the strategy expected of the trial it just proposed (plain data), which the trial's
        result repeats; none by default."""
        return {}

    def tell(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        """Trial ``trial_id`` (None: unknown to this run) reported its final ``result``. A verdict
        trial's env steps are the verdict's, outside the search's budget."""
        if not (trial_id in self._running_verdicts or (isinstance(parameters, dict) and parameters.get(VERDICT_KEY))):
            self._spent_env_steps += int(result.get("env_steps") or 0)
        self.record_result(trial_id, parameters, result)

    def tell_end(self, trial_id: int, success: bool) -> None:
        """Trial ``trial_id`` ended; without a result before it, it failed."""
        self.record_end(trial_id, success)

    def record_result(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        record = self._finished(trial_id, parameters, result)
        self.history.append(record)
        logger.info(
            "trial %s: %s%s on seeds %s scored %.4f",
            trial_id,
            record.name,
            " (verdict)" if record.verdict else " (baseline)" if record.baseline else "",
            list(record.seeds),
            record.score,
        )
        if record.verdict:
            return
        if record.name not in self.race.entrants:  # a trial of a state that was lost: it joins the race as it stands
            self._points[record.name] = record.architecture
            self.race.enter(record.name, record.baseline)
        self.race.record(record.name, self.seed_objectives(record))
        if not record.baseline and self._first_of(record):  # the strategy did not choose baselines or more seeds
            self.observe(record)

    def _finished(self, trial_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> TrialRecord:
        """The trial as a record: a running trial is known by its id; NNI may hand a resumed trial's
        parameters over as text, and then they (and the result) say what it was."""
        known = trial_id in self._running
        baseline = trial_id in self._running_baselines if known else bool(parameters.get(BASELINE_KEY))
        verdict = trial_id in self._running_verdicts if known else bool(parameters.get(VERDICT_KEY))
        architecture = (None if trial_id is None else self._running.pop(trial_id, None)) or {
            label: parameters[label] for label in self.search_space.labels if label in parameters
        }
        seeds = (
            (None if trial_id is None else self._running_seeds.pop(trial_id, None))
            or parameters.get(TRAIN_SEEDS_KEY)
            or result.get(TRAIN_SEEDS_KEY)
            or []
        )
        self._running_baselines.discard(trial_id)
        self._running_verdicts.discard(trial_id)
        score = float(result["default"]) if result else None
        return TrialRecord(
            trial_id,
            architecture,
            self.name_of(architecture),
            score,
            result,
            baseline,
            tuple(int(seed) for seed in seeds),
            verdict,
        )

    def seed_objectives(self, record: TrialRecord) -> dict[int, float]:
        """The trial's objective on each of its seeds (its seeds' scores less the size penalty)."""
        scores = record.result.get("seed_scores") or [record.score]
        seeds = record.seeds or tuple(range(len(scores)))
        parameters = record.result.get("parameters")
        return {seed: self.options.cost.objective(float(score), parameters) for seed, score in zip(seeds, scores)}

    def _first_of(self, record: TrialRecord) -> bool:
        """Whether ``record`` is its architecture's first search trial to end (the one the strategy proposed)."""
        return not any(
            earlier.name == record.name and not earlier.verdict and earlier is not record for earlier in self.history
        )

    def known_objective(self, point: Point) -> float | None:
        """The architecture's aggregate objective over every search seed it has run (the race's
        ``aggregate``), or None when it has no result yet."""
        entrant = self.race.entrants.get(self.name_of(point))
        return None if entrant is None or entrant.baseline else self.race.pooled(entrant.name)

    def record_end(self, trial_id: int, success: bool) -> None:
        if trial_id not in self._running:  # its result already arrived
            return
        record = self._finished(trial_id, {}, {})
        self.history.append(record)
        logger.warning("trial %d: %s ended without a result", trial_id, record.name)
        if record.verdict:
            return
        first = self._first_of(record)
        self.race.record_failure(record.name)
        if not record.baseline and first:
            self.observe_failure(record)

    def has_result(self, parameters: dict[str, Any]) -> bool:
        """Whether the state already holds the result of the trial that ran ``parameters``."""
        return any(record.score is not None and self._ran(record, parameters) for record in self.history)

    def _ran(self, record: TrialRecord, parameters: dict[str, Any]) -> bool:
        seeds = parameters.get(TRAIN_SEEDS_KEY)
        return (
            record.name == parameters.get(ARCHITECTURE_NAME_KEY)
            and record.baseline == bool(parameters.get(BASELINE_KEY))
            and record.verdict == bool(parameters.get(VERDICT_KEY))
            and (seeds is None or list(record.seeds) == list(seeds))
        )

    def running_trial_of(self, parameters: dict[str, Any]) -> int | None:
        """The running trial that was given ``parameters``, if any."""
        name, seeds = parameters.get(ARCHITECTURE_NAME_KEY), parameters.get(TRAIN_SEEDS_KEY)
        return next(
            (
                trial_id
                for trial_id, a in self._running.items()
                if self.name_of(a) == name and (seeds is None or self._running_seeds.get(trial_id) == list(seeds))
            ),
            None,
        )

    def race_summary(self) -> dict[str, Any]:
        """The race as plain JSON (the report reads it): its answer and each architecture's seeds."""
        return {**self.race.summary(), "verdict_seeds": self.options.verdict.seeds()}

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
            "race": self.race.state_dict(),
            "points": self._points,
            "running_seeds": self._running_seeds,
            "running_verdicts": sorted(self._running_verdicts),
            "verdict_left": self._verdict_left,
            "verdict_baselines": self._verdict_baselines,
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
        self.race.load_state_dict(state["race"])
        self._points = dict(state["points"])
        self._running_seeds = {int(trial_id): list(seeds) for trial_id, seeds in state["running_seeds"].items()}
        self._running_verdicts = set(state["running_verdicts"])
        self._verdict_left = None if state["verdict_left"] is None else list(state["verdict_left"])
        self._verdict_baselines = list(state["verdict_baselines"])
        self.check_restored()

    def check_restored(self) -> None:
        """Refuse a restored state whose parts do not fit together (a damaged or foreign file that
        still unpickles): the tuner then falls back to the state before it, rather than fail at a
        later trial. Raises ValueError naming the part."""

        def require(condition: bool, part: str) -> None:
            if not condition:
                raise ValueError(f"the saved {part} does not fit the rest of the state")

        def is_whole(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        def is_point(name: Any, point: Any) -> bool:
            return isinstance(name, str) and isinstance(point, dict) and self.name_of(point) == name

        require(
            all(
                isinstance(record.name, str)
                and isinstance(record.architecture, dict)
                and (record.score is None or isinstance(record.score, float))
                and all(is_whole(seed) for seed in record.seeds)
                for record in self.history
            ),
            "history",
        )
        require(all(is_point(name, point) for name, point in self._points.items()), "points")
        require(
            all(is_whole(trial_id) and isinstance(point, dict) for trial_id, point in self._running.items()),
            "running trials",
        )
        require(
            set(self._running_seeds) <= set(self._running)
            and all(seeds and all(is_whole(seed) for seed in seeds) for seeds in self._running_seeds.values()),
            "trial seeds",
        )
        require(self._running_baselines | self._running_verdicts <= set(self._running), "running baselines")
        require(
            set(self.race.entrants) <= set(self._points)
            and self.race.incumbent in {None, *self.race.entrants}
            and all(name in self.race.entrants for name, _ in self.race.queue),
            "race",
        )
        require(
            all(
                isinstance(name, str) and name in self._points
                for name in [*(self._verdict_left or []), *self._verdict_baselines]
            ),
            "verdict",
        )
        for name in self._baselines_left:
            require(isinstance(name, str), "baselines")
            self.search_space.parse_name(name)
        require(
            all(is_number(value) and value >= 0 for value in (self._spent_env_steps, self._earlier_seconds)),
            "spent budget",
        )
