"""Random vs policy-gradient vs ENAS on LunarLander-v3 at an equal env-step budget.

Each strategy is driven the way NNI drives it (``ask`` -> trial -> ``tell``/``tell_end``, through
:func:`nni_rl_nas.strategies.driver.drive`), ``--workers`` trials at a time, each trial the real
trial code (``run_trial``) in its own process. A strategy gets new trials until the env steps
of its finished trials (search trials included) reach ``--env-steps``; running trials finish.

Printed per strategy: env steps and wall-clock until the first trial judged solved (>= 200 mean
over 100 consecutive greedy episodes) finished, the best architecture found, and that
architecture retrained on ``--rescore-seeds`` (score mean and spread, how many seeds solve).
Beside them, what exhaustive grid would spend: every architecture at the full per-trial budget.
A plot shows each controller's performance over its updates (ENAS: mean return of the sampled
children per update; policy-gradient: mean score of each batch of trials).

    python benchmarks/compare_strategies.py --env-steps 1000000 --out /tmp/compare
    python benchmarks/compare_strategies.py --strategies enas --out /tmp/compare   # one at a time
    python benchmarks/compare_strategies.py --summarize --out /tmp/compare         # table + plot
    python benchmarks/compare_strategies.py --rescore-only --out /tmp/compare      # rescore saved runs
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import searches
import yaml

from nni_rl_nas.files import write_json
from nni_rl_nas.options import EnasOptions

SPACE = {"family": "mlp", "depth": 2, "widths": [64, 128, 256, 1024, 2048], "activations": ["sigmoid", "relu"]}
STRATEGY_OPTIONS = {
    "random": ("RlNasRandom", {}),
    "policy_gradient": ("RlNasPolicyGradient", {"controller": {"samples_per_update": 3}}),
    "enas": (
        "RlNasEnas",
        {
            "searches": 1,
            "top_k": 3,
            "child_steps": 1000,
            "search_eval_episodes": 3,
            "controller": {"samples_per_update": 3},
        },
    ),
}


def task(seed: int, settings: argparse.Namespace) -> dict:
    return {
        "env": "LunarLander-v3",
        "seed": seed,
        "seeds": 1,
        "report_every": 10000,
        "eval_episodes": 10,
        "total_timesteps": settings.trial_timesteps,
        "max_trial_seconds": settings.max_trial_seconds,
        "score": {"rule": "mean_return", "episodes": 30, "stop_on_solve": True},
    }


def write_config(directory: Path, strategy: str, seed: int, settings: argparse.Namespace) -> Path:
    name, options = STRATEGY_OPTIONS[strategy]
    if strategy == "enas":
        options = {**options, "search_timesteps": settings.search_timesteps, "search_max_seconds": 4 * 3600}
    return searches.write_config(
        directory, name, {"seed": seed, **options, "space": SPACE, "task": task(seed, settings)}
    )


def one_trial(config: Path, directory: Path, parameters: dict | None = None, architecture: str | None = None) -> dict:
    """A trial process, as NNI would start it, in its own output directory."""
    import torch

    from nni_rl_nas.trial import run_trial

    torch.set_num_threads(1)
    output_dir = directory / (architecture or parameters["architecture"]).replace(" ", "_")
    output_dir.mkdir(parents=True, exist_ok=True)
    os.environ["NNI_OUTPUT_DIR"] = str(output_dir)
    return run_trial(config, architecture, parameters)


def drive_strategy(strategy_name: str, settings: argparse.Namespace) -> dict:
    """Run one strategy until its finished trials spent ``settings.env_steps``; return its trial log."""
    from nni_rl_nas.experiment import load_experiment
    from nni_rl_nas.strategies import STRATEGIES
    from nni_rl_nas.strategies.driver import drive

    directory = settings.out / strategy_name
    config = write_config(directory, strategy_name, 0, settings)
    strategy_class = STRATEGIES[load_experiment(config).strategy_name]
    strategy = strategy_class(**yaml.safe_load(config.read_text())["tuner"]["classArgs"])
    started, log = time.monotonic(), []

    def save(record: dict) -> None:  # after every trial, so a stopped run keeps what it measured
        write_json(directory / "log.json", record)

    def record(trial) -> None:
        if trial.result is None:
            print(f"{strategy_name}: trial {trial.parameter_id} failed: {trial.error}", flush=True)
            return
        spent = (log[-1]["spent_env_steps"] if log else 0) + trial.result["env_steps"]
        entry = {
            "parameter_id": trial.parameter_id,
            "architecture": trial.result["architecture"],
            "score": trial.result["default"],
            "solved": bool(trial.result.get("solved")),
            "env_steps": trial.result["env_steps"],
            "spent_env_steps": spent,
            "wall_clock_s": round(time.monotonic() - started, 1),
            "capped": trial.result.get("capped"),
            "result": trial.result,
        }
        log.append(entry)
        save({"strategy": strategy_name, "env_step_budget": settings.env_steps, "trials": log})
        print(
            f"{strategy_name}: {entry['architecture']} score {entry['score']:.1f} solved {entry['solved']} "
            f"env steps {entry['env_steps']} (spent {spent}) at {entry['wall_clock_s']} s",
            flush=True,
        )

    with ProcessPoolExecutor(settings.workers) as pool:
        drive(
            strategy,
            functools.partial(one_trial, config, directory),
            pool,
            settings.workers,
            keep_proposing=lambda: not log or log[-1]["spent_env_steps"] < settings.env_steps,
            on_finish=record,
        )
    result = {"strategy": strategy_name, "env_step_budget": settings.env_steps, "trials": log}
    save(result)
    return result


def controller_curve(strategy_name: str, log: list[dict], directory: Path) -> list[float]:
    """The controller's performance per update, as the original LunarLander study plotted it: ENAS, the mean return of
    each update's sampled children (shared weights); policy-gradient, the mean score of each batch."""
    if strategy_name == "enas":
        searches = sorted(directory.glob("*/search.json"))
        return [point["default"] for point in json.loads(searches[0].read_text())["curve"]] if searches else []
    if strategy_name == "policy_gradient":
        batch = STRATEGY_OPTIONS["policy_gradient"][1]["controller"]["samples_per_update"]
        scores = [entry["score"] for entry in log]
        return [float(np.mean(scores[i : i + batch])) for i in range(0, len(scores) - batch + 1, batch)]
    return []


def best_architecture(log: list[dict]) -> str | None:
    """The first architecture that solved, else the best-scoring one (None: nothing trained yet)."""
    trained = [entry for entry in log if entry["architecture"] != EnasOptions.search_name]
    solved = [entry for entry in trained if entry["solved"]]
    if not trained:
        return None
    return (solved[0] if solved else max(trained, key=lambda entry: entry["score"]))["architecture"]


def rescore(records: dict[str, dict], out: Path, settings: argparse.Namespace) -> None:
    """Retrain each strategy's best architecture from scratch on other seeds, all in one pool."""
    with ProcessPoolExecutor(settings.workers) as pool:
        futures = {}
        for name, record in records.items():
            for seed in settings.rescore_seeds if record["best"] else []:
                directory = out / name / "rescore" / f"seed{seed}"
                config = write_config(directory, "random", seed, settings)
                futures[pool.submit(one_trial, config, directory, architecture=record["best"])] = name
        for name in records:
            records[name]["rescore"] = [future.result() for future, owner in futures.items() if owner == name]


def equal_budget(records: list[dict]) -> int:
    """The env steps every strategy has spent: strategies are compared on their trials up to it."""
    return min(record["trials"][-1]["spent_env_steps"] for record in records if record["trials"])


def within(log: list[dict], budget: int) -> list[dict]:
    return [entry for entry in log if entry["spent_env_steps"] <= budget]


def summarize(out: Path, grid_budget: int) -> None:
    """The table: first solve over each strategy's whole run (marked when past the equal budget), best
    architecture within the equal budget and its rescoring."""
    records = [json.loads(path.read_text()) for path in sorted(out.glob("*/log.json"))]
    budget = equal_budget(records)
    print(
        f"\nLunarLander-v3, 100 architectures. Equal budget: {budget:,} env steps (the least any strategy "
        f"spent); exhaustive grid would spend {grid_budget:,} (100 x the full per-trial budget)."
    )
    print(
        f"{'strategy':<16}{'spent':>10}{'trials':>7}{'capped':>7}{'1st solve: env steps':>22}{'wall s':>8}"
        f"{'grid/that':>10}  {'best within budget':<22}{'rescored return':>18}{'seeds solved':>13}"
    )
    for record in records:
        log = record["trials"]
        first = next((entry for entry in log if entry["solved"]), None)
        rescored = record.get("rescore", [])
        returns = [r["mean_return"] for r in rescored]
        past = "*" if first and first["spent_env_steps"] > budget else ""
        first_steps = f"{first['spent_env_steps']:,}{past}" if first else "none"
        first_seconds = f"{first['wall_clock_s']:.0f}" if first else "-"
        ratio = f"{grid_budget / first['spent_env_steps']:.0f}x" if first else "-"
        spread = f"{np.mean(returns):.1f} +- {np.std(returns):.1f}" if returns else "-"
        solved = f"{sum(bool(r['solved']) for r in rescored)}/{len(rescored)}" if rescored else "-"
        capped = sum(bool(entry["capped"]) for entry in log)
        print(
            f"{record['strategy']:<16}{log[-1]['spent_env_steps'] if log else 0:>10,}{len(log):>7}{capped:>7}"
            f"{first_steps:>22}{first_seconds:>8}{ratio:>10}  {record.get('best', '-'):<22}{spread:>18}{solved:>13}"
        )
    print(
        "* past the equal budget. Env steps count every trial that finished before the solving one, "
        "plus the solving trial's own."
    )
    plot_controllers(records, out / "controller_performance.png")


def plot_controllers(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for record in records:
        curve = controller_curve(record["strategy"], record["trials"], path.parent / record["strategy"])
        if curve:
            axis.plot(range(1, len(curve) + 1), curve, marker="o", label=record["strategy"])
    axis.set_xlabel("controller update")
    axis.set_ylabel("mean return of the sampled architectures")
    axis.set_title("Controller performance over iterations, LunarLander-v3")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGY_OPTIONS), choices=list(STRATEGY_OPTIONS))
    parser.add_argument("--env-steps", type=int, default=1_000_000, help="env-step budget of each strategy")
    parser.add_argument("--workers", type=int, default=2, help="trials at a time (one per core)")
    parser.add_argument(
        "--max-trial-seconds",
        type=float,
        default=600.0,
        help="per-trial wall-clock cap (trials past it are scored as they stand, marked capped); "
        "ENAS's search is bounded by --search-timesteps instead",
    )
    parser.add_argument("--trial-timesteps", type=int, help="env steps per trial (default: the shipped budget)")
    parser.add_argument("--search-timesteps", type=int, default=100_000, help="env steps of the ENAS search")
    parser.add_argument("--rescore-seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--summarize", action="store_true", help="only print the table and plot of saved runs")
    parser.add_argument("--rescore-only", action="store_true", help="rescore the best of saved runs, then summarize")
    args = parser.parse_args()

    from nni_rl_nas.experiment import parse_class_args

    grid_budget = 100 * parse_class_args({"task": {"env": "LunarLander-v3"}}).task.budget
    if not args.summarize:
        records = {}
        for name in args.strategies:
            saved = args.out / name / "log.json"
            record = json.loads(saved.read_text()) if args.rescore_only else drive_strategy(name, args)
            records[name] = record
        budget = equal_budget(list(records.values()))
        for record in records.values():
            record["best"] = best_architecture(within(record["trials"], budget))
        rescore(records, args.out, args)
        for name, record in records.items():
            write_json(args.out / name / "log.json", record)
    summarize(args.out, grid_budget)


if __name__ == "__main__":
    main()
