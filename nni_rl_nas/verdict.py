"""The answer a search gives, and whether it beats the baseline: the report's headline and ``summary.json``.

Trials are pooled by architecture: every seed an architecture trained on in the search (its
first trial and the race's promotions), and apart from them the *test seeds* of the verdict
trials (``classArgs.verdict``), which no decision of the search read.

The answer is the architecture the verdict trials trained (the race's answer, chosen on the
search seeds), else the race's recorded answer, else the best aggregate among the architectures
with the most search seeds. Against each baseline it is compared on paired seeds: the test seeds
when both trained on them, else the search seeds they share, which chose the answer and so make
the interval optimistic (``seeds_used`` says which). The rule (:func:`.seed_statistics.verdict`):
``better`` only when the interval of the mean paired difference lies above 0. Otherwise no
network beat the baseline at this budget, and the summary names the cheapest network not shown
worse than it (on at least :data:`MIN_PAIRS` paired seeds) with its share of the baseline's
parameters. Plain data in and out; no torch, so the report stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .seed_statistics import (
    aggregate,
    detectable_difference,
    paired_difference,
    probability_of_improvement,
    seeds_needed,
    summarize,
    variance_components,
    verdict,
)

MIN_PAIRS = 3  # paired seeds an architecture needs before "not shown worse" says anything about it
RELATIVE_DIFFERENCE = 0.10  # the difference whose seed cost a "not distinguishable" verdict states


@dataclass(frozen=True)
class SeedScores:
    """One trial's per-seed scores, as the report read them."""

    architecture: str
    seeds: list[int]
    scores: list[float]
    baseline: bool = False
    verdict: bool = False  # trained on the test seeds
    penalty: float = 0.0  # the size penalty its objective subtracts (``cost``)
    parameters: float | None = None
    solved_seeds: int = 0


@dataclass
class PooledArchitecture:
    name: str
    baseline: bool
    search: dict[int, float] = field(default_factory=dict)  # search seed -> score
    test: dict[int, float] = field(default_factory=dict)  # test seed -> score
    penalty: float = 0.0
    parameters: float | None = None
    solved: int = 0

    def objectives(self) -> list[float]:
        return [score - self.penalty for score in self.search.values()]


def pool(trials: Iterable[SeedScores]) -> dict[str, PooledArchitecture]:
    """Every architecture's scores by seed, search seeds apart from test seeds."""
    pooled: dict[str, PooledArchitecture] = {}
    for trial in trials:
        entry = pooled.setdefault(trial.architecture, PooledArchitecture(trial.architecture, trial.baseline))
        target = entry.test if trial.verdict else entry.search
        target.update(zip(trial.seeds, trial.scores))
        entry.penalty = trial.penalty
        entry.parameters = trial.parameters if trial.parameters is not None else entry.parameters
        entry.solved += trial.solved_seeds if not trial.verdict else 0
    return pooled


def choose_answer(
    pooled: dict[str, PooledArchitecture], recorded: str | None, name: str = "mean", quantile: float = 0.25
) -> str | None:
    """The verdict trials' architecture, else the race's recorded answer, else the best aggregate
    objective among the architectures with the most search seeds."""
    tested = [entry.name for entry in pooled.values() if entry.test and not entry.baseline]
    if len(tested) == 1:
        return tested[0]
    if recorded in pooled and not pooled[recorded].baseline:
        return recorded
    contenders = [entry for entry in pooled.values() if entry.search and not entry.baseline]
    if not contenders:
        return None
    most = max(len(entry.search) for entry in contenders)
    return max(
        (entry for entry in contenders if len(entry.search) == most),
        key=lambda entry: aggregate(entry.objectives(), name, quantile),
    ).name


def compare(answer: PooledArchitecture, baseline: PooledArchitecture) -> dict[str, Any]:
    """The answer against one baseline on their paired seeds: test seeds when both have them."""
    use_test = bool(set(answer.test) & set(baseline.test))
    mine, theirs = (answer.test, baseline.test) if use_test else (answer.search, baseline.search)
    shared = sorted(set(mine) & set(theirs))
    x, y = [mine[seed] for seed in shared], [theirs[seed] for seed in shared]
    difference: dict[str, Any] = (
        paired_difference(x, y) if shared else {"pairs": 0, "mean": None, "sd": None, "ci95": None}
    )
    comparison = {
        "baseline": baseline.name,
        "seeds_used": "test" if use_test else "search",
        "pairs": len(shared),
        "difference": {"mean": difference["mean"], "ci95": difference["ci95"]},
        "probability_of_improvement": probability_of_improvement(x, y)["probability"] if shared else None,
        "verdict": verdict(difference["ci95"]),
    }
    if comparison["verdict"] == "not distinguishable":
        reference = abs(sum(y) / len(y)) if y else 0.0
        comparison["detectable_difference"] = detectable_difference(difference["sd"], len(shared))
        comparison["seeds_for_10_percent"] = seeds_needed(difference["sd"], RELATIVE_DIFFERENCE * reference)
    return comparison


def not_shown_worse(entry: PooledArchitecture, baseline: PooledArchitecture) -> bool:
    """On >= MIN_PAIRS paired search seeds, the interval of (entry - baseline) reaches 0 or above."""
    shared = sorted(set(entry.search) & set(baseline.search))
    if len(shared) < MIN_PAIRS:
        return False
    interval = paired_difference([entry.search[s] for s in shared], [baseline.search[s] for s in shared])["ci95"]
    return interval is None or interval[1] >= 0


def cheapest_not_worse(
    pooled: dict[str, PooledArchitecture], answer: str, baseline: PooledArchitecture, answer_verdict: str
) -> dict[str, Any] | None:
    """The network with the fewest parameters not shown worse than ``baseline``: the answer on its
    verdict, the others on their paired search seeds."""
    candidates = [
        (entry.parameters, entry.name)
        for entry in pooled.values()
        if not entry.baseline
        and entry.parameters
        and (answer_verdict != "worse" if entry.name == answer else not_shown_worse(entry, baseline))
    ]
    if not candidates:
        return None
    parameters, name = min(candidates, key=lambda candidate: candidate[0])
    ratio = parameters / baseline.parameters if baseline.parameters else None
    return {"architecture": name, "parameters": parameters, "parameter_ratio": ratio}


def signal(pooled: dict[str, PooledArchitecture]) -> dict[str, Any]:
    """The experiment's own signal-to-noise: variance between architectures against between seeds,
    from the architectures it trained on several search seeds."""
    return variance_components([list(entry.search.values()) for entry in pooled.values()])


def summarize_experiment(
    pooled: dict[str, PooledArchitecture],
    recorded_answer: str | None = None,
    aggregate_name: str = "mean",
    quantile: float = 0.25,
) -> dict[str, Any]:
    """``summary.json``: the answer, its verdict against the (first) baseline, every architecture's
    seeds, and the experiment's signal (module docstring)."""
    answer = choose_answer(pooled, recorded_answer, aggregate_name, quantile)
    baselines = [entry for entry in pooled.values() if entry.baseline and (entry.search or entry.test)]
    summary: dict[str, Any] = {
        "answer": answer,
        "baseline": baselines[0].name if baselines else None,
        "verdict": None,
        "difference": None,
        "probability_of_improvement": None,
        "seeds": {entry.name: len(entry.search) for entry in pooled.values()},
        "test_seeds": {entry.name: len(entry.test) for entry in pooled.values() if entry.test},
        "signal": signal(pooled),
        "aggregate": aggregate_name,
    }
    if answer is None or not baselines:
        return summary
    comparisons = [compare(pooled[answer], baseline) for baseline in baselines]
    first = comparisons[0]
    summary.update(
        {key: first[key] for key in ("verdict", "difference", "probability_of_improvement", "seeds_used", "pairs")}
    )
    for key in ("detectable_difference", "seeds_for_10_percent"):
        if key in first:
            summary[key] = first[key]
    summary["baselines"] = comparisons
    if first["verdict"] != "better":
        summary["cheapest_not_worse"] = cheapest_not_worse(pooled, answer, baselines[0], first["verdict"])
    return summary


def headline(summary: dict[str, Any]) -> str:
    """One sentence: which of the two outcomes happened, with the interval and the seeds behind it."""
    answer, baseline, outcome = summary["answer"], summary["baseline"], summary["verdict"]
    if answer is None:
        return "No architecture finished with a score."
    if baseline is None:
        return (
            f"The answer is {answer}; no baseline was trained, so nothing says whether it beats a hand-picked network."
        )
    mean, interval = summary["difference"]["mean"], summary["difference"]["ci95"]
    seeds = f"{summary['pairs']} {'test' if summary['seeds_used'] == 'test' else 'search'} seeds"
    shown = (
        f"{mean:+.1f} (95% CI {interval[0]:+.1f} to {interval[1]:+.1f}) over {seeds}"
        if interval
        else f"{mean:+.1f} over {seeds}, too few for an interval"
        if mean is not None
        else "no paired seeds"
    )
    caveat = (
        "" if summary["seeds_used"] == "test" else " These seeds also chose the answer, so the interval is optimistic."
    )
    if outcome == "better":
        return f"{answer} beats the baseline {baseline}: {shown}.{caveat}"
    lead = (
        f"No network beat the baseline {baseline} at this budget: the answer, {answer}, scores {shown} "
        f"against it ({outcome})."
    )
    detectable = summary.get("detectable_difference")
    if detectable is not None:
        needed = summary.get("seeds_for_10_percent")
        lead += f" These seeds could detect a difference of {detectable:.1f} or more" + (
            f"; a 10% difference would need about {needed} seeds." if needed else "."
        )
    cheapest = summary.get("cheapest_not_worse")
    if cheapest:
        ratio = cheapest["parameter_ratio"]
        lead += f" The cheapest network not shown worse: {cheapest['architecture']}" + (
            f", {ratio:.0%} of the baseline's parameters." if ratio else "."
        )
    return lead + caveat


def architecture_rows(
    pooled: dict[str, PooledArchitecture], answer: str | None, aggregate_name: str = "mean", quantile: float = 0.25
) -> list[dict[str, Any]]:
    """The ranked table's rows: the answer first, the baselines next, then the rest by aggregate objective."""

    def order(entry: PooledArchitecture) -> tuple:
        value = aggregate(entry.objectives(), aggregate_name, quantile) if entry.search else float("-inf")
        return (entry.name != answer, not entry.baseline, -value)

    rows = []
    for entry in sorted(pooled.values(), key=order):
        search = summarize(list(entry.search.values()), aggregate_name, quantile) if entry.search else None
        test = summarize(list(entry.test.values()), aggregate_name, quantile) if entry.test else None
        rows.append(
            {
                "architecture": entry.name,
                "answer": entry.name == answer,
                "baseline": entry.baseline,
                "parameters": entry.parameters,
                "search": search,
                "test": test,
                "solved_seeds": entry.solved,
            }
        )
    return rows
