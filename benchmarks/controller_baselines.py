"""No baseline vs EMA baseline vs actor-critic: the Zoph & Le replication's comparison, offline on digits.

Runs the policy-gradient strategy of ``experiment_configs/pg_digits.yml`` (its space, task and
controller options; only ``controller.baseline`` changes) for ``--trials`` children per seed,
driven the way NNI drives it. Every child is a real CNN trained on scikit-learn's 8x8 digits.
Training is deterministic for a given architecture and task seed, so a child trained once is
looked up when another run samples it again. Printed side by side, per baseline over the seeds:

- reward std: the standard deviation of the reward signal the controller learnt from
  (no baseline: the accuracy itself; EMA: accuracy - moving average, clipped as configured;
  critic: accuracy - the critic's value, clipped, averaged over the decisions), as the
  replication reported it;
- reward RMS: its root mean square, the factor that scales the policy-gradient step;
- best accuracy found, and the mean accuracy of the last 10 children (has the controller learnt?).

    python benchmarks/controller_baselines.py --seeds 0 1 2 --trials 60
"""

from __future__ import annotations

import argparse
import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

CONFIG = Path(__file__).resolve().parents[1] / "experiment_configs" / "pg_digits.yml"
BASELINES = ("none", "ema", "critic")


def shipped_class_args() -> dict:
    return yaml.safe_load(CONFIG.read_text())["tuner"]["classArgs"]


def search(class_args: dict, baseline: str, seed: int, trials: int, accuracy_cache: dict) -> dict:
    """One policy-gradient search of ``trials`` children; returns its reward signal and accuracies."""
    import torch

    from nni_rl_nas.strategies import PolicyGradientStrategy
    from nni_rl_nas.strategies.driver import drive
    from nni_rl_nas.training.supervised import train_classifier

    options = copy.deepcopy(class_args)
    options["seed"] = seed
    options["controller"]["baseline"] = baseline
    strategy = PolicyGradientStrategy(**options)
    task = strategy.spec.task

    def train(parameters: dict) -> dict:
        name = parameters["architecture"]
        if name not in accuracy_cache:
            architecture = strategy.space.parse_architecture_name(name)
            accuracy_cache[name] = train_classifier(task, lambda: strategy.space.freeze(architecture), "cpu")[0]
        return accuracy_cache[name]

    torch.set_num_threads(1)
    with ThreadPoolExecutor(1) as executor:
        finished = drive(strategy, train, executor, keep_proposing=lambda: len(strategy.history) < trials)
    accuracies = [trial.result["default"] for trial in finished if trial.result]
    signal = np.asarray(strategy.reinforce.advantages)
    return {
        "baseline": baseline,
        "seed": seed,
        "reward_std": float(signal.std()),
        "reward_rms": float(np.sqrt((signal**2).mean())),
        "best_accuracy": max(accuracies),
        "last10_accuracy": float(np.mean(accuracies[-10:])),
        "trials": len(accuracies),
    }


def compare(class_args: dict, seeds: list[int], trials: int) -> list[dict]:
    cache: dict = {}
    return [search(class_args, baseline, seed, trials, cache) for baseline in BASELINES for seed in seeds]


def print_table(runs: list[dict]) -> None:
    print(f"\n{'baseline':<10}{'reward std':>20}{'reward RMS':>20}{'best accuracy':>20}{'last-10 accuracy':>20}")
    for baseline in BASELINES:
        rows = [run for run in runs if run["baseline"] == baseline]

        def cell(key: str, rows: list = rows) -> str:
            values = [row[key] for row in rows]
            return f"{np.mean(values):.4f} +- {np.std(values):.4f}"

        print(
            f"{baseline:<10}{cell('reward_std'):>20}{cell('reward_rms'):>20}{cell('best_accuracy'):>20}"
            f"{cell('last10_accuracy'):>20}"
        )
    print(f"(mean +- std over seeds {sorted({run['seed'] for run in runs})}, {runs[0]['trials']} children each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=60, help="children per search")
    parser.add_argument("--epochs", type=int, help="epochs per child (default: pg_digits.yml's)")
    args = parser.parse_args()
    class_args = shipped_class_args()
    if args.epochs:
        class_args["task"]["epochs"] = args.epochs
    print(f"controller options (pg_digits.yml): {class_args['controller']}")
    print_table(compare(class_args, args.seeds, args.trials))


if __name__ == "__main__":
    main()
