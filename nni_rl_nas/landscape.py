"""A landscape: every architecture of a space trained once on several seeds and recorded, so a
search strategy can be replayed against the table in seconds instead of training (the tabular
benchmarks of supervised NAS, NAS-Bench-101/201, for RL agents).

The table (``benchmarks/landscape.py`` generates it) is a folder: ``landscape.json`` (the env,
space, seeds, budget, score rules and settings) and ``records.jsonl``, one line per architecture
and seed with its learning curve, when each solve rule judged it solved, its score under each
rule, and its cost.

A replay (:func:`replay_search`) drives a search exactly as :func:`.strategies.driver.drive`
drives it against real trials, one trial at a time, but each trial's result is looked up
(:class:`LandscapeTrials`) and charged the env steps and wall-clock the table recorded. Any
object with ``ask``/``tell``/``tell_end`` runs unchanged: our strategies, NNI's own tuners among
them (:class:`.strategies.NniTunerStrategy`, which calls them as NNI's dispatcher does). An assessor, if given, reads
each trial's curve point by point as NNI feeds it and may stop the trial there, which, as under
NNI, then ends without a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from nni.assessor import AssessResult

from .strategies.base import ARCHITECTURE_NAME_KEY
from .strategies.driver import drive

LANDSCAPE_FILE, RECORDS_FILE = "landscape.json", "records.jsonl"


@dataclass(frozen=True)
class Landscape:
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    @cached_property
    def by_architecture(self) -> dict[str, list[dict[str, Any]]]:
        """Each architecture of the space: its records, in seed order."""
        return self._table(baseline=False)

    @cached_property
    def baselines(self) -> dict[str, list[dict[str, Any]]]:
        """Networks recorded beside the space on the same seeds (a user's hand-picked default)."""
        return self._table(baseline=True)

    def _table(self, baseline: bool) -> dict[str, list[dict[str, Any]]]:
        table: dict[str, list[dict[str, Any]]] = {}
        for record in sorted(self.records, key=lambda record: record["seed"]):
            if bool(record.get("baseline")) == baseline:
                table.setdefault(record["architecture"], []).append(record)
        return table

    def seed_scores(self, architecture: str, rule: str) -> list[float]:
        records = self.by_architecture.get(architecture) or self.baselines[architecture]
        return [record["scores"][rule]["value"] for record in records]

    def true_score(self, architecture: str, rule: str) -> float:
        """The architecture's score under ``rule``, averaged over every recorded seed: the best
        estimate the table has, against which a search's pick is judged."""
        return float(np.mean(self.seed_scores(architecture, rule)))

    def ranking(self, rule: str) -> list[tuple[str, float]]:
        """Architectures by true score, best first."""
        return sorted(((name, self.true_score(name, rule)) for name in self.by_architecture), key=lambda item: -item[1])

    def describe(self) -> str:
        seeds = {len(records) for records in self.by_architecture.values()}
        env_steps = sum(record["budget"] for record in self.records)
        core_seconds = sum(record["wall_clock_s"] for record in self.records)
        baselines = f" and {len(self.baselines)} baseline(s)" if self.baselines else ""
        return (f"{self.header['env']} {self.header['algorithm'].upper()}: {len(self.by_architecture)} architectures"
                f"{baselines} x {'/'.join(map(str, sorted(seeds)))} seeds, {self.header['budget']:,} env steps each; "
                f"{env_steps:,} env steps in all, {core_seconds / 3600:.1f} core-hours")


def load_landscape(folder: Path) -> Landscape:
    folder = Path(folder)
    header = json.loads((folder / LANDSCAPE_FILE).read_text())
    records_path = folder / RECORDS_FILE
    records = [json.loads(line) for line in records_path.read_text().splitlines()] if records_path.exists() else []
    return Landscape(header, records)


class TrialStopped(Exception):
    """An assessor stopped the trial: under NNI it ends without a final result."""


@dataclass(frozen=True)
class ReplayedTrial:
    architecture: str
    result: dict[str, Any] | None  # None: stopped by the assessor
    env_steps: int  # what the trial cost, stopped or not
    wall_clock_s: float


class LandscapeTrials:
    """Trials answered from a landscape, as a search's ``run`` function.

    A real experiment trains every trial on the seeds ``task.seed`` ... ``task.seed + seeds - 1``;
    here ``task_seed`` picks which recorded seeds play that part (wrapping around the recorded
    ones), so different searches see different draws of the seed noise and one search sees one
    draw, as a real one does. ``rule`` is the score rule the search learns from; with
    ``stop_on_solve`` (rules that judge "solved") a solved seed is charged only the env steps to
    its solve, as a trial that stops there would be.
    """

    def __init__(self, landscape: Landscape, rule: str, trial_seeds: int, task_seed: int,
                 stop_on_solve: bool = False, assessor: Any = None) -> None:
        recorded = len(landscape.header["seeds"])
        if trial_seeds > recorded:
            raise ValueError(f"trial_seeds={trial_seeds}: the landscape holds {recorded} seeds per architecture")
        if rule not in landscape.header["rules"]:
            raise ValueError(f"rule {rule!r}: the landscape holds {sorted(landscape.header['rules'])}")
        if stop_on_solve and rule not in landscape.records[0]["solved_at"]:
            raise ValueError(f"stop_on_solve needs a rule that judges 'solved'; {rule!r} does not")
        self.landscape, self.rule, self.stop_on_solve, self.assessor = landscape, rule, stop_on_solve, assessor
        self.seed_positions = [(task_seed + offset) % recorded for offset in range(trial_seeds)]
        self.log: list[ReplayedTrial] = []

    @property
    def spent_env_steps(self) -> int:
        return sum(trial.env_steps for trial in self.log)

    def seed_records(self, architecture: str) -> list[dict[str, Any]]:
        records = self.landscape.by_architecture[architecture]
        return [records[position] for position in self.seed_positions]

    def __call__(self, parameters: dict[str, Any]) -> dict[str, Any]:
        architecture = parameters[ARCHITECTURE_NAME_KEY]
        records = self.seed_records(architecture)
        ends = [self._end(record) for record in records]
        points = [[point for point in record["curve"] if point["env_steps"] <= end] for record, end in zip(records, ends)]
        if self.assessor is not None:
            self._assess(architecture, points)
        values = [record["scores"][self.rule]["value"] for record in records]
        solved = [record["solved_at"].get(self.rule) is not None for record in records]
        result = {
            "default": float(np.mean(values)), "architecture": architecture, "score_std": float(np.std(values)),
            "seed_scores": values, "seeds": len(records), "score_rule": self.rule,
            "solved": all(solved), "solved_seeds": sum(solved), "env_steps": sum(ends),
            "wall_clock_s": round(sum(seed_points[-1]["wall_clock_s"] for seed_points in points), 2),
            "parameters": records[0]["parameters"],
        }
        self.log.append(ReplayedTrial(architecture, result, result["env_steps"], result["wall_clock_s"]))
        return result

    def _end(self, record: dict[str, Any]) -> int:
        solved_at = record["solved_at"].get(self.rule) if self.stop_on_solve else None
        return solved_at if solved_at is not None else record["budget"]

    def _assess(self, architecture: str, points: list[list[dict[str, Any]]]) -> None:
        """Feed the trial's mean curve to the assessor one point at a time; stop at its first "bad"."""
        trial_id = str(len(self.log))
        history = []
        for index in range(max(len(seed_points) for seed_points in points)):
            reached = [seed_points[min(index, len(seed_points) - 1)] for seed_points in points]
            history.append({"default": float(np.mean([point["greedy_return"] for point in reached]))})
            verdict = self.assessor.assess_trial(trial_id, list(history))
            if verdict is False or verdict is AssessResult.Bad:
                self.assessor.trial_end(trial_id, False)
                env_steps = sum(point["env_steps"] for point in reached)
                wall_clock = sum(point["wall_clock_s"] for point in reached)
                self.log.append(ReplayedTrial(architecture, None, env_steps, round(wall_clock, 2)))
                raise TrialStopped(f"{architecture} stopped by the assessor at point {index + 1}")
        self.assessor.trial_end(trial_id, True)


class InlineExecutor(Executor):
    """Runs each submitted call at once: a replayed trial is a lookup, not a process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # a failed (or stopped) trial, as a process pool reports it
            future.set_exception(error)
        return future


def replay_search(search: Any, trials: LandscapeTrials, env_step_budget: int) -> list[ReplayedTrial]:
    """Drive ``search`` against the landscape, one trial at a time, until its trials have cost
    ``env_step_budget`` env steps (the trial that crosses it finishes) or it has nothing to propose."""
    drive(search, trials, InlineExecutor(), concurrency=1,
          keep_proposing=lambda: trials.spent_env_steps < env_step_budget)
    return trials.log
