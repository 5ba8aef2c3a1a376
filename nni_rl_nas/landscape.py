"""A landscape: every architecture of a space trained once on several seeds and recorded, so a
search strategy can be replayed against the table in seconds instead of training (the tabular
benchmarks of supervised NAS, NAS-Bench-101/201, for RL agents).

The table (``benchmarks/landscape.py`` generates it) is a folder: ``landscape.json`` (the env,
space, seeds, budget, score rules and settings) and ``records.jsonl``, one line per architecture
and seed with its learning curve, when each solve rule judged it solved, its score under each
rule, and its cost.

The recorded seeds split in two: the first half are *search seeds*, the only ones a replayed
search sees; the second half are *test seeds*, which no search ever sees and which judge its
pick (with 10 seeds: 0-4 and 5-9). :class:`SyntheticLandscape` is a semi-synthetic twin whose
truth is exact: true means drawn around the recorded ones, seed noise drawn from the recorded
residuals, for calibration over many search seeds.

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

from .errors import ConfigError, is_number
from .options import TRAIN_SEEDS_KEY
from .seed_statistics import reliability, variance_components
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

    @cached_property
    def _by_seed(self) -> dict[tuple[str, int], dict[str, Any]]:
        return {(record["architecture"], record["seed"]): record for record in self.records}

    @property
    def seeds(self) -> list[int]:
        return list(self.header["seeds"])

    @property
    def search_seeds(self) -> list[int]:
        """The first half of the seeds: the only ones a replayed search sees."""
        return self.seeds[: (len(self.seeds) + 1) // 2]

    @property
    def test_seeds(self) -> list[int]:
        """The second half: they judge a search's pick, and no search sees them."""
        return self.seeds[(len(self.seeds) + 1) // 2 :]

    def record(self, architecture: str, seed: int) -> dict[str, Any]:
        try:
            return self._by_seed[(architecture, seed)]
        except KeyError:
            raise ValueError(
                f"the landscape holds no record of {architecture} on seed {seed}; fix: generate it "
                "(benchmarks/landscape.py generate resumes)"
            ) from None

    def seed_scores(self, architecture: str, rule: str, seeds: list[int] | None = None) -> list[float]:
        """``architecture``'s score on each of ``seeds`` (None: every seed recorded)."""
        if seeds is None:
            records = self.by_architecture.get(architecture) or self.baselines[architecture]
            return [record["scores"][rule]["value"] for record in records]
        return [self.record(architecture, seed)["scores"][rule]["value"] for seed in seeds]

    def true_score(self, architecture: str, rule: str, seeds: list[int] | None = None) -> float:
        """The architecture's score under ``rule``, averaged over ``seeds`` (None: every recorded
        seed, the best estimate the table has)."""
        return float(np.mean(self.seed_scores(architecture, rule, seeds)))

    def ranking(self, rule: str) -> list[tuple[str, float]]:
        """Architectures by true score, best first."""
        return sorted(((name, self.true_score(name, rule)) for name in self.by_architecture), key=lambda item: -item[1])

    def describe(self) -> str:
        seeds = {len(records) for records in self.by_architecture.values()}
        env_steps = sum(record["budget"] for record in self.records)
        core_seconds = sum(record["wall_clock_s"] for record in self.records)
        baselines = f" and {len(self.baselines)} baseline(s)" if self.baselines else ""
        return (
            f"{self.header['env']} {self.header['algorithm'].upper()}: {len(self.by_architecture)} architectures"
            f"{baselines} x {'/'.join(map(str, sorted(seeds)))} seeds, {self.header['budget']:,} env steps each; "
            f"{env_steps:,} env steps in all, {core_seconds / 3600:.1f} core-hours"
        )


class SyntheticLandscape:
    """A semi-synthetic twin of a recorded landscape under one rule, whose truth is exact.

    True means: each network's recorded mean shrunk towards the space's grand mean by its
    reliability (the best linear unbiased predictor under the recorded variance components), plus
    a draw of what the shrinkage leaves unknown (sd ``sqrt(1 - reliability)`` x the spread between
    networks); a baseline, which is not of the space, keeps its own mean plus a draw of its
    standard error. So each ``seed`` gives a fresh truth with the space's structure and the
    recorded spread between networks. A seed's score is its network's true mean plus a residual
    drawn from the recorded ones (each record's distance from its network's mean, rescaled for the
    degree of freedom each mean took), so collapsed seeds stay as frequent and as deep as recorded.
    Any seed has a score, fixed by (truth seed, network, seed): ``search_seeds`` and
    ``test_seeds`` of any length. Without curves that mean anything and without solve times, it
    serves rules and replays that read final scores only.
    """

    def __init__(
        self, recorded: Landscape, rule: str = "mean_return", seed: int = 0, search_seeds: int = 5, test_seeds: int = 50
    ) -> None:
        self.recorded, self.rule, self.seed = recorded, rule, seed
        self.search_seeds, self.test_seeds = list(range(search_seeds)), list(range(10_000, 10_000 + test_seeds))
        self.header = {
            **recorded.header,
            "seeds": self.search_seeds + self.test_seeds,
            "rules": {rule: recorded.header["rules"][rule]},
            "synthetic": {"truth_seed": seed},
        }
        self.records: list[dict[str, Any]] = []
        groups = {name: recorded.seed_scores(name, rule) for name in recorded.by_architecture}
        components = variance_components(list(groups.values()))
        between, within = components["between_architectures_sd"], components["between_seeds_sd"]
        grand = float(np.mean([np.mean(scores) for scores in groups.values()]))
        rng = np.random.default_rng([seed, 0])
        self.truth: dict[str, float] = {}
        for name, scores in groups.items():
            weight = reliability(components["intraclass_correlation"], len(scores))
            self.truth[name] = grand + weight * (np.mean(scores) - grand) + rng.normal(0, between * np.sqrt(1 - weight))
        for name in recorded.baselines:
            scores = recorded.seed_scores(name, rule)
            self.truth[name] = float(np.mean(scores) + rng.normal(0, within / np.sqrt(len(scores))))
        self.residuals = np.concatenate(
            [
                (np.asarray(scores) - np.mean(scores)) * np.sqrt(len(scores) / (len(scores) - 1))
                for scores in groups.values()
                if len(scores) > 1
            ]
        )
        self.names = list(self.truth)
        self.by_architecture: dict[str, list[dict[str, Any]]] = {name: [] for name in recorded.by_architecture}
        self.baselines: dict[str, list[dict[str, Any]]] = {name: [] for name in recorded.baselines}

    def true_score(self, architecture: str, rule: str | None = None, seeds: list[int] | None = None) -> float:
        """The exact true mean (``seeds`` given: the mean of those seeds' scores)."""
        if seeds is None:
            return self.truth[architecture]
        return float(np.mean([self.score(architecture, seed) for seed in seeds]))

    def ranking(self, rule: str | None = None) -> list[tuple[str, float]]:
        return sorted(((name, self.truth[name]) for name in self.by_architecture), key=lambda item: -item[1])

    def score(self, architecture: str, seed: int) -> float:
        draw = np.random.default_rng([self.seed, 1, self.names.index(architecture), seed])
        return float(self.truth[architecture] + self.residuals[draw.integers(len(self.residuals))])

    def record(self, architecture: str, seed: int) -> dict[str, Any]:
        """A record shaped as a recorded one: the seed's score, the network's recorded size and cost."""
        recorded = (self.recorded.by_architecture.get(architecture) or self.recorded.baselines[architecture])[0]
        value, budget = self.score(architecture, seed), recorded["budget"]
        return {
            "architecture": architecture,
            "seed": seed,
            "budget": budget,
            "parameters": recorded["parameters"],
            "solved_at": {},
            "scores": {self.rule: {"value": value}},
            "wall_clock_s": recorded["wall_clock_s"],
            "curve": [{"env_steps": budget, "greedy_return": value, "wall_clock_s": recorded["wall_clock_s"]}],
        }


def load_landscape(folder: Path) -> Landscape:
    """The landscape in ``folder``, checked: records are untrusted (tables get downloaded and
    shared), so a header or a record that is not what ``benchmarks/landscape.py`` writes is refused
    in one line naming the file, the line and the fix."""
    folder = Path(folder)
    header_path, records_path = folder / LANDSCAPE_FILE, folder / RECORDS_FILE
    header = _read_json(header_path, header_path.read_bytes() if header_path.exists() else None)
    _check(header_path, _header_problem(header))
    records = []
    for number, line in enumerate(records_path.read_bytes().splitlines() if records_path.exists() else [], start=1):
        where = f"{records_path}:{number}"
        record = _read_json(where, line)
        _check(where, _record_problem(record, header))
        records.append(record)
    return Landscape(header, records)


REGENERATE = "fix: regenerate the landscape (python benchmarks/landscape.py generate), or remove what is damaged"


def _read_json(where: Path | str, data: bytes | None) -> Any:
    if data is None:
        raise ConfigError(f"{where}: missing; {REGENERATE}")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ConfigError(f"{where}: not JSON ({str(error).splitlines()[0]}); {REGENERATE}") from None


def _check(where: Path | str, problem: str | None) -> None:
    if problem:
        raise ConfigError(f"{where}: {problem}; {REGENERATE}")


def _is_count(value: Any, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _header_problem(header: Any) -> str | None:
    if not isinstance(header, dict):
        return "not a mapping"
    for key in ("env", "algorithm"):
        if not isinstance(header.get(key), str):
            return f"{key}: got {header.get(key)!r}, not a name"
    if not isinstance(header.get("space"), dict):
        return "space: not a mapping"
    seeds = header.get("seeds")
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(_is_count(seed) for seed in seeds)
        or len(set(seeds)) < len(seeds)
    ):
        return f"seeds: got {seeds!r}, not a list of distinct whole numbers"
    if not _is_count(header.get("budget"), 1):
        return f"budget: got {header.get('budget')!r}, not env steps"
    rules = header.get("rules")
    if not isinstance(rules, dict) or not rules or not all(isinstance(rule, dict) for rule in rules.values()):
        return "rules: not a mapping of score rules"
    return None


def _record_problem(record: Any, header: dict[str, Any]) -> str | None:
    if not isinstance(record, dict):
        return "not a mapping"
    if not isinstance(record.get("architecture"), str):
        return f"architecture: got {record.get('architecture')!r}"
    if record.get("seed") not in header["seeds"] or not _is_count(record.get("seed")):
        return f"seed: got {record.get('seed')!r}, not one of the header's seeds"
    if not _is_count(record.get("budget"), 1):
        return f"budget: got {record.get('budget')!r}"
    for key in ("parameters", "wall_clock_s"):
        if not is_number(record.get(key)) or record[key] < 0:
            return f"{key}: got {record.get(key)!r}, not a number >= 0"
    scores, solved_at = record.get("scores"), record.get("solved_at")
    if not isinstance(solved_at, dict) or not all(value is None or _is_count(value) for value in solved_at.values()):
        return "solved_at: not a mapping of env steps"
    if not isinstance(scores, dict) or not all(
        isinstance(scores.get(rule), dict) and is_number(scores[rule].get("value")) for rule in header["rules"]
    ):
        return f"scores: not a finite value for each of the rules {sorted(header['rules'])}"
    curve = record.get("curve")
    if (
        not isinstance(curve, list)
        or not curve
        or not all(
            isinstance(point, dict)
            and _is_count(point.get("env_steps"))
            and is_number(point.get("wall_clock_s"))
            and (point.get("greedy_return") is None or is_number(point.get("greedy_return")))
            for point in curve
        )
    ):
        return "curve: not a list of points with env_steps, wall_clock_s and greedy_return"
    if not isinstance(record.get("baseline", False), bool):
        return f"baseline: got {record.get('baseline')!r}"
    return None


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

    A trial trains the seeds its parameters list (``train_seeds``). A strategy numbers its search
    seeds from its ``task.seed`` (0 here): search seed ``s`` plays the landscape's search seed
    ``search_seeds[(task_seed + s) % len(search_seeds)]``, so that different searches see
    different draws of the seed noise and one search sees one draw, as a real one does; test
    seed ``first_test_seed + i`` (a verdict trial) plays the landscape's test seed ``i``.
    Parameters without seeds train one search seed. ``rule`` is the score rule the search learns
    from; with ``stop_on_solve`` (rules that judge "solved") a solved seed is charged only the env
    steps to its solve, as a trial that stops there would be.
    """

    def __init__(
        self,
        landscape: Landscape,
        rule: str,
        task_seed: int = 0,
        stop_on_solve: bool = False,
        assessor: Any = None,
        first_test_seed: int = 1000,
    ) -> None:
        if rule not in landscape.header["rules"]:
            raise ValueError(f"rule {rule!r}: the landscape holds {sorted(landscape.header['rules'])}")
        if stop_on_solve and rule not in landscape.records[0]["solved_at"]:
            raise ValueError(f"stop_on_solve needs a rule that judges 'solved'; {rule!r} does not")
        self.landscape, self.rule, self.stop_on_solve, self.assessor = landscape, rule, stop_on_solve, assessor
        self.task_seed, self.first_test_seed = task_seed, first_test_seed
        self.log: list[ReplayedTrial] = []

    @property
    def spent_env_steps(self) -> int:
        return sum(trial.env_steps for trial in self.log)

    def landscape_seed(self, seed: int) -> int:
        """The recorded seed that plays the strategy's seed ``seed`` (class docstring)."""
        search, test = self.landscape.search_seeds, self.landscape.test_seeds
        if seed >= self.first_test_seed:
            if seed - self.first_test_seed >= len(test):
                raise ValueError(
                    f"test seed {seed}: the landscape holds {len(test)} test seeds; fix: verdict.test_seeds "
                    f"at most {len(test)}"
                )
            return test[seed - self.first_test_seed]
        if seed >= len(search):
            raise ValueError(
                f"search seed {seed}: the landscape holds {len(search)} search seeds; fix: racing.max_seeds "
                f"at most {len(search)}"
            )
        return search[(self.task_seed + seed) % len(search)]

    def seed_records(self, architecture: str, seeds: list[int]) -> list[dict[str, Any]]:
        return [self.landscape.record(architecture, self.landscape_seed(seed)) for seed in seeds]

    def __call__(self, parameters: dict[str, Any]) -> dict[str, Any]:
        architecture = parameters[ARCHITECTURE_NAME_KEY]
        seeds = list(parameters.get(TRAIN_SEEDS_KEY) or [0])
        records = self.seed_records(architecture, seeds)
        ends = [self._end(record) for record in records]
        points = [
            [point for point in record["curve"] if point["env_steps"] <= end] for record, end in zip(records, ends)
        ]
        if self.assessor is not None:
            self._assess(architecture, points)
        values = [record["scores"][self.rule]["value"] for record in records]
        solved = [record["solved_at"].get(self.rule) is not None for record in records]
        result = {
            "default": float(np.mean(values)),
            "architecture": architecture,
            "score_std": float(np.std(values)),
            "seed_scores": values,
            "seeds": len(records),
            TRAIN_SEEDS_KEY: seeds,
            "score_rule": self.rule,
            "solved": all(solved),
            "solved_seeds": sum(solved),
            "env_steps": sum(ends),
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
    drive(
        search, trials, InlineExecutor(), concurrency=1, keep_proposing=lambda: trials.spent_env_steps < env_step_budget
    )
    return trials.log
