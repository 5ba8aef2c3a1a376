"""Every replayable strategy against the LunarLander landscape, over many search seeds, at equal env-step budgets.

Each search runs unchanged, one trial at a time, against ``benchmarks/results/landscape_lunar``
(:func:`nni_rl_nas.landscape.replay_search`): a trial's result is looked up on the seeds its
search drew and charged the env steps and wall-clock the landscape recorded. Strategies: ours
(random, grid, the REINFORCE controller, each with its shipped options) and NNI's own tuners
(random, TPE, evolution; NNI's regularized evolution reads only NAS
layer and input choices, not a search space of plain choices), each alone and with NNI's Medianstop assessor.
ENAS and DARTS are not replayable: their search trials train a shared supernet, which a table
of standalone architectures does not hold.

At each budget a search's pick is the architecture with its best observed score among the
trials that finished within the budget. A search sees only the landscape's search seeds (0-4);
its pick is judged by its *test score*, the mean over the test seeds (5-9), which no search
sees, and by whether it is among the 5 best by test score. Printed per strategy
and budget, over ``--search-seeds`` searches: the expected test score of the pick with a 95%
t-interval, the probability of a top-5 pick with a 95% Wilson interval, the trials run and the
wall-clock they were charged. Results go to ``--out``/comparison.json, comparison.md (the README's
table) and comparison.png.

    python benchmarks/replay_landscape.py                       # 20 search seeds, all strategies
    python benchmarks/replay_landscape.py --strategies random nni:TPE --search-seeds 5
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
from scipy import stats

from nni_rl_nas.files import write_atomically, write_json
from nni_rl_nas.landscape import LandscapeTrials, load_landscape, replay_search

LANDSCAPE = Path(__file__).parent / "results" / "landscape_lunar"
TOP = 5


def our_strategy(name: str, seed: int, landscape, trial_seeds: int) -> object:
    from nni_rl_nas.strategies import GridStrategy, PolicyGradientStrategy, RandomStrategy

    strategy = {"random": RandomStrategy, "grid": GridStrategy, "policy_gradient": PolicyGradientStrategy}[name]
    return strategy(
        space=landscape.header["space"], task={"env": landscape.header["env"], "seeds": trial_seeds}, seed=seed
    )


def nni_tuner(name: str, seed: int, landscape, trial_seeds: int) -> object:
    """NNI's tuner ``name`` over the landscape's space (:class:`NniTunerStrategy`); tuners without a
    seed argument draw from the global generators, seeded here."""
    from nni_rl_nas.strategies import NniTunerStrategy

    random.seed(seed)
    np.random.seed(seed)
    algorithm = name.removeprefix("nni:")
    return NniTunerStrategy(
        space=landscape.header["space"],
        task={"env": landscape.header["env"], "seeds": trial_seeds},
        seed=seed,
        algorithm=algorithm,
        algorithm_args={"population_size": 8} if algorithm == "Evolution" else None,
    )


STRATEGIES = {name: functools.partial(our_strategy, name) for name in ("random", "grid", "policy_gradient")}
STRATEGIES.update({name: functools.partial(nni_tuner, name) for name in ("nni:Random", "nni:TPE", "nni:Evolution")})
ASSESSORS = {"": None, "+Medianstop": 3}  # suffix -> Medianstop's start_step


def within(log: list, budget: int) -> list:
    """The trials that finished within ``budget`` env steps, in order."""
    spent, kept = 0, []
    for trial in log:
        spent += trial.env_steps
        if spent > budget:
            break
        kept.append(trial)
    return kept


def pick(log: list) -> str | None:
    scored = [trial for trial in log if trial.result is not None]
    return max(scored, key=lambda trial: trial.result["default"]).architecture if scored else None


def run_searches(name: str, assessor_start: int | None, settings: argparse.Namespace, landscape) -> list[dict]:
    """One search per seed, to the largest budget; per budget, what it picked and what that cost."""
    from nni.algorithms.hpo.medianstop_assessor import MedianstopAssessor

    def judged(architecture: str) -> float:  # on the test seeds, which no replayed search sees
        return landscape.true_score(architecture, settings.rule, landscape.test_seeds)

    ranking = sorted(landscape.by_architecture, key=judged, reverse=True)
    top = set(ranking[:TOP])
    default = max((judged(name) for name in landscape.baselines), default=None)
    searches = []
    for seed in range(settings.search_seeds):
        task_seed = int(np.random.default_rng(seed).integers(len(landscape.search_seeds)))
        assessor = MedianstopAssessor("maximize", assessor_start) if assessor_start else None
        trials = LandscapeTrials(landscape, settings.rule, task_seed, assessor=assessor)
        log = replay_search(STRATEGIES[name](seed, landscape, settings.trial_seeds), trials, max(settings.budgets))
        by_budget = {}
        for budget in settings.budgets:
            kept = within(log, budget)
            chosen = pick(kept)
            by_budget[budget] = {
                "pick": chosen,
                "test_score": judged(chosen) if chosen else None,
                "top": chosen in top,
                "trials": len(kept),
                "beats_default": None if default is None or not chosen else judged(chosen) > default,
                "stopped": sum(trial.result is None for trial in kept),
                "wall_clock_s": round(sum(trial.wall_clock_s for trial in kept), 1),
            }
        searches.append({"seed": seed, "task_seed": task_seed, "by_budget": by_budget})
    return searches


def wilson(successes: int, count: int, z: float = 1.96) -> tuple[float, float]:
    centre = (successes + z * z / 2) / (count + z * z)
    half = z * np.sqrt(successes * (count - successes) / count + z * z / 4) / (count + z * z)
    return centre - half, centre + half


def summarize(rows: dict[str, list[dict]], budgets: list[int]) -> dict:
    table = {}
    for name, searches in rows.items():
        for budget in budgets:
            picks = [search["by_budget"][str(budget)] for search in searches]
            scores = [p["test_score"] for p in picks if p["test_score"] is not None]
            half = (
                stats.t.ppf(0.975, len(scores) - 1) * np.std(scores, ddof=1) / np.sqrt(len(scores))
                if len(scores) > 1
                else float("nan")
            )
            hits = sum(p["top"] for p in picks)
            beats = [p["beats_default"] for p in picks if p["beats_default"] is not None]
            table.setdefault(name, {})[budget] = {
                "expected_test_score": float(np.mean(scores)) if scores else None,
                "ci95": float(half),
                "p_top": hits / len(picks),
                "p_top_ci95": wilson(hits, len(picks)),
                "p_beats_default": sum(beats) / len(beats) if beats else None,
                "trials": float(np.mean([p["trials"] for p in picks])),
                "stopped": float(np.mean([p["stopped"] for p in picks])),
                "wall_clock_h": float(np.mean([p["wall_clock_s"] for p in picks])) / 3600,
                "searches": len(picks),
            }
    return table


def print_table(table: dict, landscape, settings: argparse.Namespace) -> None:
    test = landscape.test_seeds
    ranking = sorted(
        ((name, landscape.true_score(name, settings.rule, test)) for name in landscape.by_architecture),
        key=lambda item: -item[1],
    )
    print(f"\n{landscape.describe()}")
    print(
        f"score rule {settings.rule}, {settings.trial_seeds} seed(s) per trial; on the test seeds {test} the best "
        f"architecture is {ranking[0][0]} ({ranking[0][1]:.1f}), the 5th {ranking[TOP - 1][1]:.1f}, the median "
        f"{np.median([score for _, score in ranking]):.1f}; {settings.search_seeds} searches per row"
    )
    for name in landscape.baselines:
        print(
            f"baseline {name}: {landscape.true_score(name, settings.rule, test):.1f} on the test seeds (P(beats): "
            "the pick's test score is higher than the best baseline's)"
        )
    print(
        f"{'strategy':<34}{'env steps':>10}{'E[test score of pick]':>24}{'P(top-5)':>20}{'P(beats)':>9}"
        f"{'trials':>8}{'stopped':>8}{'charged h':>10}"
    )
    for name, by_budget in table.items():
        for budget, row in by_budget.items():
            low, high = row["p_top_ci95"]
            score = (
                f"{row['expected_test_score']:.1f} +- {row['ci95']:.1f}"
                if row["expected_test_score"] is not None
                else "-"
            )
            beats = "-" if row["p_beats_default"] is None else f"{row['p_beats_default']:.2f}"
            print(
                f"{name:<34}{budget:>10,}{score:>24}{row['p_top']:>8.2f} [{low:.2f}, {high:.2f}]{beats:>9}"
                f"{row['trials']:>8.1f}{row['stopped']:>8.1f}{row['wall_clock_h']:>10.2f}"
            )


def markdown(table: dict) -> str:
    """The table for the README: per strategy and budget, E[test score of the pick] +- 95% CI, P(top-5)
    and, where the landscape has baselines, P(the pick beats the best baseline)."""
    budgets = list(next(iter(table.values())))
    lines = [
        "| strategy | " + " | ".join(f"{int(budget) / 1e6:g}M env steps" for budget in budgets) + " |",
        "| --- |" + " --- |" * len(budgets),
    ]
    for name, by_budget in table.items():
        cells = []
        for row in by_budget.values():
            beats = "" if row["p_beats_default"] is None else f", beats {row['p_beats_default']:.2f}"
            cells.append(f"{row['expected_test_score']:.1f} ± {row['ci95']:.1f}, top-5 {row['p_top']:.2f}{beats}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: dict, path: Path, rule: str, baselines: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    hues = list(dict.fromkeys(name.split("+")[0] for name in table))  # one hue per strategy, paler with an assessor
    for name, by_budget in table.items():
        budgets = [int(budget) for budget in by_budget]
        means = np.array([row["expected_test_score"] for row in by_budget.values()], dtype=float)
        halves = np.array([row["ci95"] for row in by_budget.values()], dtype=float)
        color = plt.cm.tab20(2 * hues.index(name.split("+")[0]) + ("+" in name))
        (line,) = axis.plot(budgets, means, marker="o", label=name, linestyle="--" if "+" in name else "-", color=color)
        axis.fill_between(budgets, means - halves, means + halves, color=line.get_color(), alpha=0.1)
    for name, score in baselines.items():
        axis.axhline(score, color="black", linestyle=":", label=f"baseline {name}")
    axis.set_xscale("log")
    axis.set_xlabel("env steps spent by the search")
    axis.set_ylabel(f"test score ({rule}) of the pick, mean and 95% CI")
    axis.set_title("Strategies replayed on the LunarLander landscape")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscape", type=Path, default=LANDSCAPE)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--search-seeds", type=int, default=20)
    parser.add_argument("--trial-seeds", type=int, default=1, help="seeds a trial trains (the shipped config: 3)")
    parser.add_argument("--rule", default="mean_return", help="the score rule searches learn from and are judged by")
    parser.add_argument("--budgets", type=int, nargs="+", help="env-step budgets (default: 5, 10, 20 and 40 trials)")
    parser.add_argument("--no-assessor", action="store_true", help="skip the Medianstop rows")
    parser.add_argument("--out", type=Path, help="default: the landscape's folder")
    args = parser.parse_args()
    for logger in ("nni", "nni_rl_nas"):  # a stopped trial is a warning each, thousands of them
        logging.getLogger(logger).setLevel(logging.ERROR)
    landscape = load_landscape(args.landscape)
    trial_cost = args.trial_seeds * landscape.header["budget"]
    args.budgets = sorted(args.budgets or [trial * trial_cost for trial in (5, 10, 20, 40)])
    out = args.out or args.landscape
    started = time.monotonic()
    rows = {}
    for name in args.strategies:
        for suffix, start in ASSESSORS.items():
            if suffix and args.no_assessor:
                continue
            rows[name + suffix] = json.loads(json.dumps(run_searches(name, start, args, landscape)))
            print(
                f"{name + suffix}: {args.search_seeds} searches replayed ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    table = summarize(rows, args.budgets)
    write_json(
        out / "comparison.json",
        {
            "settings": {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
            "table": table,
            "searches": rows,
        },
    )
    print_table(table, landscape, args)
    write_atomically(out / "comparison.md", lambda target: target.write_text(markdown(table)))
    plot(
        table,
        out / "comparison.png",
        args.rule,
        {name: landscape.true_score(name, args.rule, landscape.test_seeds) for name in landscape.baselines},
    )
    print(f"{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
