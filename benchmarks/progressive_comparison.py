"""Progressive NAS against random search and the policy-gradient controller over the same spaces of
searched depth, at an equal number of trials (so, for LunarLander, of env steps).

Tasks:

- ``digits``: the Zoph & Le CNN space grown from 1 to 3 layers (kernels {8, 16, 32}, filters
  {1, 3, 5}, strides {1, 2}; 6,174 networks), each child trained 10 epochs on scikit-learn's 8x8
  digits and scored by its validation accuracy. Progressive: all 18 one-layer CNNs, then beam 3.
- ``lunar``: Q-networks grown from 1 to 4 layers (widths {32, 64, 128, 256}, relu/tanh; 4,680
  networks), DQN on LunarLander-v3 for 100k env steps on one seed with the batched engine, scored
  by the mean greedy return of 30 episodes. Progressive: all 8 one-layer networks, then beam 2.

Every search of a task gets as many trials as the progressive search trains (24 on digits, 14 on
LunarLander), ``--workers`` at a time, each the real trial code in a process of its own, the task
seeded with the search seed. Per search this records each trial in finishing order (so the
best-so-far curve) and, for progressive, each level's rank correlation between the predictor's
scores and the trials' real ones. The best network a search found is then retrained on seeds
no search used (digits: 100-102, one trial each; LunarLander: 1000-1002 in one batched trainer,
100 greedy episodes each).

Units (a search, a retrain) are written to ``--out``/units/ when they end, and a network retrained
once is not retrained again, so a rerun resumes; ``--report-only`` writes ``summary.json`` and
``report.md`` from what is done.

    python benchmarks/progressive_comparison.py --tasks digits --workers 2
    python benchmarks/progressive_comparison.py --tasks lunar --workers 2
    python benchmarks/progressive_comparison.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from searches import Units, one_trial, spread, write_config, write_results

OUT = Path(__file__).resolve().parent / "results" / "progressive_comparison"
TASKS = {
    "digits": {
        "space": {
            "family": "cnn",
            "depth": [1, 2, 3],
            "filter_sizes": [1, 3, 5],
            "strides": [1, 2],
            "kernels": [8, 16, 32],
        },
        "task": {
            "dataset": "digits",
            "epochs": 10,
            "batch_size": 64,
            "learning_rate": 0.003,
            "validation_fraction": 0.2,
        },
        "beam": 3,
        "trials": 24,
        "search_seeds": [0, 1, 2, 3, 4],
        "retrain_seeds": [100, 101, 102],
    },
    "lunar": {
        "space": {
            "family": "mlp",
            "depth": [1, 2, 3, 4],
            "widths": [32, 64, 128, 256],
            "activations": ["relu", "tanh"],
        },
        "task": {
            "env": "LunarLander-v3",
            "algorithm": "dqn",
            "engine": "batched",
            "seeds": 1,
            "total_timesteps": 100_000,
            "report_every": 10000,
            "eval_episodes": 5,
            "score": {"rule": "mean_return", "episodes": 30},
        },
        "beam": 2,
        "trials": 14,
        "search_seeds": [0, 1, 2],
        "retrain_seeds": [1000, 1001, 1002],
    },
}
STRATEGIES = {"progressive": "RlNasProgressive", "random": "RlNasRandom", "policy_gradient": "RlNasPolicyGradient"}


def class_args(task: str, strategy: str, seed: int) -> dict:
    settings = TASKS[task]
    options = {
        "progressive": {"beam": settings["beam"]},
        "random": {},
        "policy_gradient": {"controller": {"samples_per_update": 3}},
    }[strategy]
    return {"seed": seed, **options, "space": settings["space"], "task": {**settings["task"], "seed": seed}}


def run_search(task: str, strategy: str, seed: int, settings: argparse.Namespace) -> dict:
    """One search of ``TASKS[task]['trials']`` trials; its trials in finishing order."""
    from nni_rl_nas.strategies import STRATEGIES as STRATEGY_CLASSES
    from nni_rl_nas.strategies.driver import drive

    args = class_args(task, strategy, seed)
    config = write_config(settings.out / "runs" / f"{task}_{strategy}_{seed}", STRATEGIES[strategy], args)
    search = STRATEGY_CLASSES[STRATEGIES[strategy]](**args)
    with ProcessPoolExecutor(settings.workers) as pool:  # trials finished or running, against the cap
        finished = drive(
            search,
            functools.partial(one_trial, config),
            pool,
            settings.workers,
            keep_proposing=lambda: len(search.history) + len(search.running_names()) < TASKS[task]["trials"],
        )
    trials = [
        {
            "name": trial.result["architecture"],
            "score": trial.result["default"],
            "level": trial.result.get("level"),
            "predicted_score": trial.result.get("predicted_score"),
            "point": {key: value for key, value in trial.parameters.items() if key not in ("architecture", "proposal")},
        }
        for trial in finished
        if trial.result is not None
    ]
    return {
        "task": task,
        "strategy": strategy,
        "seed": seed,
        "trials": trials,
        "failed": len(finished) - len(trials),
        "levels": getattr(search, "levels", None),
    }


def run_retrain(task: str, name: str, point: dict, settings: argparse.Namespace) -> dict:
    """The network ``point`` trained from scratch on the task's retrain seeds."""
    seeds = TASKS[task]["retrain_seeds"]
    args = class_args(task, "random", seeds[0])
    if "env" in args["task"]:  # one batched trainer for the seeds, 100 greedy episodes each
        args["task"].update(seeds=len(seeds), score={"rule": "mean_return", "episodes": 100})
        configs = [args]
    else:  # a classifier trains one seed per trial
        configs = [{**args, "task": {**args["task"], "seed": seed}} for seed in seeds]
    scores = []
    for index, config_args in enumerate(configs):
        digest = hashlib.sha1(name.encode()).hexdigest()[:12]
        config = write_config(settings.out / "runs" / f"retrain_{task}_{digest}_{index}", "RlNasRandom", config_args)
        result = one_trial(config, point)
        scores += result.get("seed_scores", [result["default"]])
    return {"task": task, "name": name, "seeds": seeds, "scores": scores}


def retrain_unit(task: str, name: str) -> str:
    return f"retrain/{task}/{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def best(search: dict) -> dict:
    return max(search["trials"], key=lambda trial: trial["score"])


def retrain_once(task: str, name: str, point: dict, settings: argparse.Namespace) -> None:
    """The pick's retrain unit, written unless it is there already."""
    Units(settings.out / "units").ensure(retrain_unit(task, name), lambda: run_retrain(task, name, point, settings))


def run_all(settings: argparse.Namespace) -> None:
    """The searches one after another, each pick's retrain (one process) beside the searches that
    follow it, so that no core idles while a pick retrains."""
    units, retrains = Units(settings.out / "units"), {}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as retrain_pool:
        for task in settings.tasks:
            for seed in TASKS[task]["search_seeds"]:
                for strategy in STRATEGIES:
                    search = units.ensure(
                        f"{task}/{strategy}/{seed}",
                        lambda task=task, strategy=strategy, seed=seed: run_search(task, strategy, seed, settings),
                    )
                    pick = best(search)
                    unit = retrain_unit(task, pick["name"])
                    if units.get(unit) is None and unit not in retrains:
                        retrains[unit] = retrain_pool.submit(retrain_once, task, pick["name"], pick["point"], settings)
        for retrain in retrains.values():
            retrain.result()


def ordered_pairs(trials: list[dict]) -> tuple[int, int]:
    """Of the pairs of one level's predicted trials, those the predictor ordered as their scores,
    and all of them. Unlike a rank correlation this is defined for a beam of 2."""
    predicted = [trial for trial in trials if trial["predicted_score"] is not None]
    pairs = list(itertools.combinations(predicted, 2))
    right = sum(
        (first["predicted_score"] - second["predicted_score"]) * (first["score"] - second["score"]) > 0
        for first, second in pairs
    )
    return right, len(pairs)


def predictor_cell(level: int, correlations: list[float] | None, right: int, total: int) -> str:
    correlation = f" ({statistics.mean(correlations):+.2f})" if correlations else ""
    return f"level {level}: {right}/{total}{correlation}"


def report(settings: argparse.Namespace) -> None:
    """summary.json and report.md from the units written so far."""
    units, summary, lines = Units(settings.out / "units"), {}, []
    for task, task_settings in TASKS.items():
        digits = 3 if "dataset" in task_settings["task"] else 1
        checkpoints = [task_settings["trials"] // 3, 2 * task_settings["trials"] // 3, task_settings["trials"]]
        rows = []
        for strategy in STRATEGIES:
            searches = units.matching(f"{task}__{strategy}__*")
            if not searches:
                continue
            retrained = [
                statistics.mean(unit["scores"])
                for unit in (units.get(retrain_unit(task, best(search)["name"])) for search in searches)
                if unit
            ]
            best_so_far = {
                n: [max(trial["score"] for trial in search["trials"][:n]) for search in searches] for n in checkpoints
            }
            correlations, pairs = {}, {}
            for search in searches:
                for level in search["levels"] or []:
                    if level["rank_correlation"] is not None:
                        correlations.setdefault(level["level"], []).append(level["rank_correlation"])
                    right, total = ordered_pairs(
                        [trial for trial in search["trials"] if trial["level"] == level["level"]]
                    )
                    if total:
                        counts = pairs.setdefault(level["level"], [0, 0])
                        counts[0], counts[1] = counts[0] + right, counts[1] + total
            summary.setdefault(task, {})[strategy] = {
                "picks": [best(search)["name"] for search in searches],
                "search_best": [best(search)["score"] for search in searches],
                "retrained": retrained,
                "best_so_far": best_so_far,
                "rank_correlation_by_level": correlations,
                "pairs_ordered_right_by_level": pairs,
            }
            rows.append(
                f"| {strategy} | {len(searches)} | "
                + " | ".join(spread(best_so_far[n], digits) for n in checkpoints)
                + f" | {spread(retrained, digits)} | "
                + (
                    ", ".join(
                        predictor_cell(level, correlations.get(level), right, total)
                        for level, (right, total) in sorted(pairs.items())
                    )
                    or "-"
                )
                + " |"
            )
        if rows:
            lines += [
                f"## {task}",
                "",
                "| strategy | searches | "
                + " | ".join(f"best after {n} trials" for n in checkpoints)
                + f" | pick retrained on seeds {task_settings['retrain_seeds']} | predictor: pairs of a level's trials "
                "ordered right (mean rank correlation) |",
                "| --- | --- | " + " | ".join("---" for _ in checkpoints) + " | --- | --- |",
                *rows,
                "",
            ]
    write_results(settings.out, summary, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--workers", type=int, default=2, help="trials at a time (one per core)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    settings = parser.parse_args()
    if not settings.report_only:
        run_all(settings)
    report(settings)


if __name__ == "__main__":
    main()
