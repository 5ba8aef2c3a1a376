"""Env steps/s of our trial's training vs plain Stable-Baselines3 DQN, same network and settings.

Both train DQN (the shipped LunarLander-v3 settings) with a 64-relu_64-relu Q-network for the
same number of env steps from the same seed, one torch thread each, in rotating order so that
machine noise hits all alike. "ours" is the trial's agent and reporting callback; it is timed
without and with the periodic greedy evaluations of the learning curve (which are extra
episodes, not training steps). Target: training-loop ratio >= 0.95.

    python benchmarks/evaluator_overhead.py --steps 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from stable_baselines3 import DQN

from nni_rl_nas.config import parse_class_args
from nni_rl_nas.evaluator.agents import build_agent, frozen_network
from nni_rl_nas.evaluator.reporting import NNIReportCallback
from nni_rl_nas.evaluator.scoring import SolveTracker


def timed_learn(agent, steps: int, callback=None) -> float:
    started = time.perf_counter()
    agent.learn(total_timesteps=steps, callback=callback)
    return agent.num_timesteps / (time.perf_counter() - started)


def plain_sb3(task, steps: int) -> float:
    agent = DQN("MlpPolicy", task.make_env(), seed=task.seed, device="cpu", verbose=0,
                policy_kwargs={"net_arch": [64, 64]}, **task.algorithm_hyperparameters)
    return timed_learn(agent, steps)


def ours(task, steps: int) -> float:
    space = parse_class_args({"task": {"env": task.env}}).build_space()
    agent = build_agent(task, frozen_network(space, space.parse_architecture_name("64-relu_64-relu")), task.make_env(), "cpu")
    return timed_learn(agent, steps, NNIReportCallback(task, SolveTracker(task, task.make_env())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = {"env": "LunarLander-v3", "report_every": 10000, "score": {"solved_on": "training_episodes"}}
    training_only = parse_class_args({"task": {**base, "eval_episodes": 0}}).task
    with_curve = parse_class_args({"task": {**base, "eval_episodes": 10}}).task
    runs = {"plain SB3": lambda: plain_sb3(training_only, args.steps),
            "ours (training loop)": lambda: ours(training_only, args.steps),
            "ours (+ greedy curve)": lambda: ours(with_curve, args.steps)}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:  # rotate: no variant always first
            rates[name].append(runs[name]())
        print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items()), flush=True)
    plain = statistics.median(rates["plain SB3"])
    print(f"\nLunarLander-v3 DQN 64-relu_64-relu, {args.steps} env steps x {args.repeats} repeats, median env steps/s")
    for name, values in rates.items():
        print(f"{name:>24}: {statistics.median(values):8.1f} steps/s   ratio to plain SB3 {statistics.median(values) / plain:.3f}")


if __name__ == "__main__":
    main()
