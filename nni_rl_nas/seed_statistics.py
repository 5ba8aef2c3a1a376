"""Statistics over seeds: what one architecture's scores say, and what a paired comparison can tell.

RL scores are noisy across seeds (on LunarLander the seed noise is about three times the spread
between networks), so every figure here comes with its interval, computed by the libraries made
for it: the interquartile mean, per-architecture stratified bootstrap intervals and the
probability of improvement from ``rliable`` (Agarwal et al., NeurIPS 2021), the paired
difference's bootstrap interval from SciPy. Percentile intervals throughout, as rliable reports.

A verdict compares two networks on the seeds both trained on (paired: seed ``s`` of one against
seed ``s`` of the other). It is ``better`` only when the interval of the mean paired difference
lies above 0, ``worse`` when it lies below, else ``not distinguishable``; for the last, the
difference those seeds could have detected (80% power, two-sided 5%) and the seeds a given
difference would need say what the seeds spent can and cannot tell. Plain numbers in, plain
numbers out; this module imports nothing from the package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from rliable import library as rly
from rliable import metrics
from scipy import stats

AGGREGATES = ("mean", "iqm", "quantile")
VERDICTS = ("better", "not distinguishable", "worse")
BOOTSTRAP_REPS = 2000
POWER, ALPHA = 0.8, 0.05  # what "could have detected" means: 80% power, two-sided 5%


def aggregate(scores: ArrayLike, name: str = "mean", quantile: float = 0.25) -> float:
    """One number for one architecture's seeds: the mean, the interquartile mean (the mean of the
    middle half, robust to a collapsed seed), or a lower quantile (what a user who needs every
    seed to work ranks by)."""
    values = np.asarray(scores, dtype=float).reshape(-1, 1)
    if name == "mean":
        return float(metrics.aggregate_mean(values))
    if name == "iqm":
        return float(metrics.aggregate_iqm(values))
    if name == "quantile":
        return float(np.quantile(values, quantile))
    raise ValueError(f"aggregate {name!r}: one of {list(AGGREGATES)}")


def summarize(scores: Sequence[float], name: str = "mean", quantile: float = 0.25, seed: int = 0) -> dict:
    """Mean, interquartile mean, spread and the 95% stratified bootstrap interval of the aggregate
    ``name``; the interval is None for fewer than 2 seeds."""
    values = np.asarray(scores, dtype=float)
    summary: dict[str, Any] = {
        "seeds": len(values),
        "mean": float(values.mean()),
        "iqm": aggregate(values, "iqm"),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
        "aggregate": aggregate(values, name, quantile),
        "ci95": None,
    }
    if len(values) > 1 and np.ptp(values) > 0:
        np.random.seed(seed)  # rliable's bootstrap draws from numpy's global generator
        _, intervals = rly.get_interval_estimates(
            {"scores": values.reshape(-1, 1)},
            lambda runs: np.array([aggregate(runs, name, quantile)]),
            reps=BOOTSTRAP_REPS,
        )
        summary["ci95"] = [float(bound) for bound in intervals["scores"][:, 0]]
    elif len(values) > 1:
        summary["ci95"] = [summary["aggregate"]] * 2
    return summary


def paired_difference(x: Sequence[float], y: Sequence[float], confidence: float = 0.95, seed: int = 0) -> dict:
    """The mean of ``x - y`` over paired seeds, its interval (None below 2 pairs) and the
    differences' standard deviation.

    The interval spans both SciPy's percentile bootstrap and Student's t interval: with the few
    seeds RL affords, the bootstrap is too narrow (over 3 pairs that all agree it cannot reach
    past their range), and with a collapsed seed among them t's normality fails; taking the
    wider of the two at each end keeps "better" for differences that both support."""
    differences = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    result: dict[str, Any] = {
        "pairs": len(differences),
        "mean": float(differences.mean()) if len(differences) else None,
        "sd": float(differences.std(ddof=1)) if len(differences) > 1 else None,
        "ci95": None,
    }
    if len(differences) > 1 and np.ptp(differences) > 0:
        bootstrap = stats.bootstrap(
            (differences,),
            np.mean,
            confidence_level=confidence,
            n_resamples=BOOTSTRAP_REPS,
            method="percentile",
            rng=np.random.default_rng(seed),
        ).confidence_interval
        student = stats.ttest_1samp(differences, 0.0).confidence_interval(confidence)
        result["ci95"] = [float(min(bootstrap.low, student.low)), float(max(bootstrap.high, student.high))]
    elif len(differences) > 1:
        result["ci95"] = [result["mean"]] * 2
    return result


def verdict(interval: Sequence[float] | None) -> str:
    """``better`` when the interval of (answer - baseline) lies above 0, ``worse`` below, else
    ``not distinguishable`` (no interval: too few seeds to tell)."""
    if interval is None:
        return "not distinguishable"
    low, high = interval
    return "better" if low > 0 else "worse" if high < 0 else "not distinguishable"


def probability_of_improvement(x: Sequence[float], y: Sequence[float], seed: int = 0) -> dict:
    """P(a seed of ``x`` scores above a seed of ``y``), ties counting half (rliable's, the
    Mann-Whitney statistic over all pairs of runs), with its 95% bootstrap interval."""
    runs_x, runs_y = (np.asarray(values, dtype=float).reshape(-1, 1) for values in (x, y))
    probability = float(metrics.probability_of_improvement(runs_x, runs_y))
    if min(len(runs_x), len(runs_y)) < 2:
        return {"probability": probability, "ci95": None}
    np.random.seed(seed)
    _, intervals = rly.get_interval_estimates(
        {"pair": (runs_x, runs_y)}, metrics.probability_of_improvement, reps=BOOTSTRAP_REPS
    )
    return {"probability": probability, "ci95": [float(bound) for bound in np.ravel(intervals["pair"])]}


def detectable_difference(sd: float | None, pairs: int) -> float | None:
    """The smallest mean paired difference ``pairs`` seeds detect with 80% power at two-sided 5%,
    given the differences' standard deviation (the t-test's power formula)."""
    if pairs < 2 or sd is None:
        return None
    degrees = pairs - 1
    return float((stats.t.ppf(1 - ALPHA / 2, degrees) + stats.t.ppf(POWER, degrees)) * sd / math.sqrt(pairs))


def seeds_needed(sd: float | None, difference: float) -> int | None:
    """Paired seeds that detect a mean difference of ``difference`` with 80% power at two-sided 5%
    (normal approximation: n = (z_0.975 + z_0.8)^2 (sd / difference)^2, Colas et al. 2018's
    formula for paired differences)."""
    if sd is None or not difference:
        return None
    z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)
    return max(2, math.ceil((z * sd / abs(difference)) ** 2))


def shown_worse(
    differences: Sequence[float], confidence: float, seed_sd: float | None = None, degrees: int = 0
) -> bool:
    """Whether paired differences (challenger - incumbent) show the challenger worse: the one-sided
    ``confidence`` upper bound of their mean (Student's t) lies below 0.

    With ``seed_sd``, the standard deviation between seeds of one architecture pooled over
    everything raced so far (``degrees`` of freedom), a difference's spread is taken as
    ``sqrt(2) x seed_sd`` (two independent seeds: on LunarLander the seed's shared effect is a
    few percent of the variance), so even one pair can show a challenger far below; without it,
    the pairs' own spread is used, which needs two pairs."""
    values = np.asarray(differences, dtype=float)
    if seed_sd is not None and degrees >= 2:
        spread, degrees_used = math.sqrt(2) * seed_sd, degrees
    elif len(values) >= 2:
        spread, degrees_used = float(values.std(ddof=1)), len(values) - 1
    else:
        return False
    if spread == 0:
        return bool(values.mean() < 0)
    upper = values.mean() + stats.t.ppf(confidence, degrees_used) * spread / math.sqrt(len(values))
    return bool(upper < 0)


def pooled_seed_sd(groups: Sequence[Sequence[float]]) -> tuple[float | None, int]:
    """The standard deviation between seeds of one architecture, pooled over ``groups`` (each an
    architecture's seed scores), and its degrees of freedom."""
    arrays = [np.asarray(group, dtype=float) for group in groups if len(group) >= 2]
    degrees = sum(len(array) - 1 for array in arrays)
    if not degrees:
        return None, 0
    return float(math.sqrt(sum(((array - array.mean()) ** 2).sum() for array in arrays) / degrees)), degrees


def variance_components(groups: Sequence[Sequence[float]]) -> dict:
    """One-way random-effects ANOVA over architectures (groups of per-seed scores, each with >= 2
    seeds): the standard deviation between architectures' true scores, the one between seeds of
    one architecture, and the architecture's share of the variance (the intraclass correlation).
    None where fewer than 2 groups have 2 seeds."""
    arrays = [np.asarray(group, dtype=float) for group in groups if len(group) >= 2]
    if len(arrays) < 2:
        return {
            "between_architectures_sd": None,
            "between_seeds_sd": None,
            "intraclass_correlation": None,
            "architectures": len(arrays),
        }
    sizes = np.array([len(array) for array in arrays])
    grand = np.concatenate(arrays).mean()
    within = sum(((array - array.mean()) ** 2).sum() for array in arrays) / (sizes.sum() - len(arrays))
    between = sum(size * (array.mean() - grand) ** 2 for size, array in zip(sizes, arrays)) / (len(arrays) - 1)
    typical_size = (sizes.sum() - (sizes**2).sum() / sizes.sum()) / (len(arrays) - 1)
    architectures = max(0.0, (between - within) / typical_size)
    total = architectures + within
    return {
        "between_architectures_sd": float(math.sqrt(architectures)),
        "between_seeds_sd": float(math.sqrt(within)),
        "intraclass_correlation": float(architectures / total) if total > 0 else None,
        "architectures": len(arrays),
    }


def reliability(intraclass_correlation: float, seeds: int) -> float:
    """How well a ``seeds``-seed mean ranks architectures (Spearman-Brown): k ICC / (1 + (k - 1) ICC)."""
    return seeds * intraclass_correlation / (1 + (seeds - 1) * intraclass_correlation)
