"""One base class for every search strategy; NNI drives it as a tuner.

Lifecycle of a trial, as NNI drives it (NNI's method names stay at this edge):

1. NNI builds the strategy from ``tuner.classArgs``: ``space`` and ``task`` (parsed and
   validated by :mod:`nni_rl_nas.config`) plus the strategy's own options, which are the
   keyword arguments of the subclass's ``__init__``.
2. ``generate_parameters`` asks :meth:`SearchStrategy.propose` for an architecture (a dict of
   the space's choices). ``None`` means nothing is left to try, and NNI stops asking.
3. The trial trains that architecture; its final result reaches ``receive_trial_result``, which
   records it and calls :meth:`SearchStrategy.observe`.
4. A trial that ends without a result (crash, kill, timeout) reaches ``trial_end`` with
   ``success=False``, which calls :meth:`SearchStrategy.observe_failure`.

Cost budget (``budget: {env_steps: N, wall_clock_s: T}`` in ``classArgs``, any strategy): once
the env steps of finished trials (search trials included) or the search's wall-clock reach it,
the strategy proposes no new trial; running trials finish. Both count across resumes.

A subclass implements ``propose``; ``observe`` and ``observe_failure`` are optional hooks that
do nothing by default. Results are kept as data in :attr:`SearchStrategy.history`.

Resume (``nnictl stop`` then ``nnictl resume ID``): after every event the strategy writes its
whole state (history, running trials, random generator, and the subclass's learned state from
``state_dict``) atomically into NNI's checkpoint directory, tensors and plain data only. A
resumed NNI restores it (``load_checkpoint``), then sends every result it holds
(``import_data``): results the state already has are skipped; the rest (trials that were still
running at the stop, which NNI reruns with their old parameters) are received as usual. So a
resumed search neither retrains finished architectures nor forgets what it learnt.
NNI queues the strategy's proposals until a trial slot frees, and does not keep that queue
across a stop. On resume, the proposals that NNI's database (``db/nni.sqlite``) shows it never
submitted are handed to NNI again, first, under the new parameter ids NNI asks with; their
results and ends are then booked under the original ids, so the strategy sees the trial it
proposed.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from nni import NoMoreTrialError
from nni.tuner import Tuner

from ..config import ConfigError, check_positive_number, check_search_space, parse_class_args, parse_section
from ..evaluator.artifacts import write_atomically
from ..nni_records import database_of_checkpoint, submitted_parameter_ids
from ..nni_integration import require_parameter_dispatch_fix
from ..spaces import Architecture, count_architectures, search_choices

logger = logging.getLogger(__name__)

ARCHITECTURE_NAME_KEY = "architecture"
STATE_FILE = "strategy_state.pt"


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as a strategy saw it."""

    parameter_id: int
    architecture: Architecture
    name: str
    score: float | None  # None: the trial failed without a result
    result: dict[str, Any]


@dataclass(frozen=True)
class Budget:
    """What the whole search may spend; None: no limit."""

    env_steps: int | None = None
    wall_clock_s: float | None = None

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Budget:
        budget = parse_section(cls, data or {}, "tuner.classArgs.budget")
        for name in ("env_steps", "wall_clock_s"):
            check_positive_number(getattr(budget, name), f"tuner.classArgs.budget.{name}", none_means="no limit")
        return budget


class SearchStrategy(Tuner):
    nni_name: ClassVar[str]
    """The short name a config uses (``tuner: {name: ...}``) once ``nni-rl-nas setup`` has run."""

    def __init__(self, space: dict[str, Any] | None = None, task: dict[str, Any] | None = None, seed: int = 0,
                 budget: dict[str, Any] | None = None) -> None:
        require_parameter_dispatch_fix()
        self.spec = parse_class_args({"space": space or {}, "task": task})
        self.budget = Budget.parse(budget)
        self._spent_env_steps = 0
        self._clock = time.monotonic()  # this run's start; runs before a resume are in _earlier_seconds
        self._earlier_seconds = 0.0
        self.space = self.spec.build_space()
        self.choices = search_choices(self.space)
        self.size = count_architectures(self.space)
        self.rng = np.random.default_rng(seed)
        self.history: list[TrialRecord] = []
        self._running: dict[int, Architecture] = {}
        self._issued: dict[int, dict[str, Any]] = {}  # parameters handed to NNI, by id, until the trial ends
        self._lost: list[tuple[int, dict[str, Any]]] = []  # handed out, never submitted by NNI before a stop
        self._aliases: dict[int, int] = {}  # parameter id NNI asked with -> the lost one it carries
        logger.info("%s over %d architectures: %s", type(self).__name__, self.size, self.choices)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Refuse strategy options that this strategy's ``__init__`` does not take, and a bad budget."""
        allowed = sorted(set(inspect.signature(cls.__init__).parameters) - {"self", "space", "task"})
        for key in options:
            if key not in allowed:
                raise ConfigError(f"tuner.classArgs: unknown option {key!r} for {cls.nni_name}; "
                                  f"fix: use space, task or one of {allowed}")
        Budget.parse(options.get("budget"))

    def name_of(self, architecture: Architecture) -> str:
        return self.space.architecture_name(architecture)

    def running_names(self) -> set[str]:
        """Names of the architectures whose trials are still running."""
        return {self.name_of(architecture) for architecture in self._running.values()}

    @abstractmethod
    def propose(self) -> Architecture | None:
        """The next architecture to train, or ``None`` when the strategy is done."""

    def observe(self, record: TrialRecord) -> None:
        """A trial finished with a score."""

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

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        spent = self.budget_spent()
        if spent:
            logger.info("%s: %s; no new trials", type(self).__name__, spent)
            raise NoMoreTrialError(f"{type(self).__name__}: {spent}")
        if self._lost:
            original, parameters = self._lost.pop(0)
            self._aliases[parameter_id] = original
            logger.info("resume: trial %d carries proposal %d, which NNI had not submitted before the stop",
                        parameter_id, original)
        else:
            parameters = self.next_parameters(parameter_id)
            self._issued[parameter_id] = parameters
        self.save_checkpoint()
        return parameters

    def receive_trial_result(self, parameter_id: int | None, parameters: dict[str, Any], value: Any, **kwargs: Any) -> None:
        parameter_id = self._aliases.get(parameter_id, parameter_id)
        result = value if isinstance(value, dict) else {"default": value}
        self._spent_env_steps += int(result.get("env_steps") or 0)
        self.record_result(parameter_id, parameters, result)
        self.save_checkpoint()

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        parameter_id = self._aliases.pop(parameter_id, parameter_id)
        self._issued.pop(parameter_id, None)
        self.record_end(parameter_id, success)
        self.save_checkpoint()

    def next_parameters(self, parameter_id: int) -> dict[str, Any]:
        architecture = self.propose()
        if architecture is None:
            raise NoMoreTrialError(f"{type(self).__name__} has no architecture left to propose")
        self._running[parameter_id] = architecture
        return {**architecture, ARCHITECTURE_NAME_KEY: self.name_of(architecture)}

    def record_result(self, parameter_id: int | None, parameters: dict[str, Any], result: dict[str, Any]) -> None:
        architecture = self._running.pop(parameter_id, None) or {label: parameters[label] for label in self.choices}
        record = TrialRecord(parameter_id, architecture, self.name_of(architecture), float(result["default"]), result)
        self.history.append(record)
        logger.info("trial %s: %s scored %.4f", parameter_id, record.name, record.score)
        self.observe(record)

    def record_end(self, parameter_id: int, success: bool) -> None:
        architecture = self._running.pop(parameter_id, None)
        if architecture is None:  # its result already arrived
            return
        record = TrialRecord(parameter_id, architecture, self.name_of(architecture), None, {})
        self.history.append(record)
        logger.warning("trial %d: %s ended without a result", parameter_id, record.name)
        self.observe_failure(record)

    def has_result(self, parameters: dict[str, Any]) -> bool:
        """Whether the state already holds the result of the trial that ran ``parameters``."""
        name = parameters.get(ARCHITECTURE_NAME_KEY)
        return any(record.name == name and record.score is not None for record in self.history)

    def import_data(self, data: list[dict[str, Any]]) -> None:
        """Results NNI holds from before a resume: receive those the restored state lacks."""
        for entry in data:
            parameters = entry["parameter"]
            if self.has_result(parameters):
                continue
            name = parameters.get(ARCHITECTURE_NAME_KEY)
            parameter_id = next((pid for pid, a in self._running.items() if self.name_of(a) == name), None)
            logger.info("resume: result of %s arrived from NNI's records", name)
            self.receive_trial_result(parameter_id, parameters, entry["value"])

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed experiment needs; subclasses add their learned state."""
        return {
            "history": [dataclasses.asdict(record) for record in self.history],
            "running": self._running,
            "rng": self.rng.bit_generator.state,
            "spent": self.spent(),
            "issued": self._issued,
            "aliases": self._aliases,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [TrialRecord(**record) for record in state["history"]]
        self._running = dict(state["running"])
        self.rng.bit_generator.state = state["rng"]
        self._spent_env_steps = state["spent"]["env_steps"]
        self._earlier_seconds, self._clock = state["spent"]["wall_clock_s"], time.monotonic()
        self._issued = dict(state.get("issued", {}))  # absent from states saved before it was kept
        self._aliases = dict(state.get("aliases", {}))

    def checkpoint_file(self) -> Path | None:
        directory = self.get_checkpoint_path()  # NNI's per-experiment checkpoint directory, when run by NNI
        return Path(directory) / STATE_FILE if directory else None

    def save_checkpoint(self) -> None:
        path = self.checkpoint_file()
        if path is not None:
            state = self.state_dict()
            write_atomically(path, lambda target: torch.save(state, target))

    def load_checkpoint(self) -> None:
        path = self.checkpoint_file()
        if path is None or not path.exists():
            logger.warning("resume: no saved strategy state; starting afresh from NNI's records")
            return
        self.load_state_dict(torch.load(path, weights_only=True))
        logger.info("resume: restored %s with %d finished and %d running trials from %s", type(self).__name__,
                    len(self.history), len(self._running), path)
        database = database_of_checkpoint(path.parent)
        if database.exists():
            self.find_lost_proposals(submitted_parameter_ids(database))

    def find_lost_proposals(self, submitted: set[int]) -> None:
        """Queue again the proposals NNI never submitted (by itself or by a trial carrying it)."""
        self._aliases = {alias: original for alias, original in self._aliases.items() if alias in submitted}
        carried = set(self._aliases.values())
        self._lost = [(parameter_id, parameters) for parameter_id, parameters in self._issued.items()
                      if parameter_id not in submitted and parameter_id not in carried]
        if self._lost:
            logger.warning("resume: NNI had not submitted proposals %s before the stop; proposing them again",
                           [parameter_id for parameter_id, _ in self._lost])

    def update_search_space(self, search_space: Any) -> None:
        """NNI's ``searchSpace`` only mirrors ``classArgs.space`` (for the web UI); refuse a mismatch."""
        check_search_space(search_space, self.space)
