"""Env steps/s of our trial's training vs plain Stable-Baselines3 DQN, same network and settings.

Both train DQN (the shipped LunarLander-v3 settings) with a 64-relu_64-relu Q-network for the
same number of env steps from the same seed and the same initial weights, so both run the very
same episodes (the episode counts printed prove it: LunarLander resets cost more than steps, so
different episodes would confound the rates). One torch thread each, in rotating order so that
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

from nni_rl_nas.algorithms import NetworkFactory, build_agent
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.training.curve import LearningCurve, LearningCurveCallback


def timed_learn(agent, steps: int, callback=None) -> tuple[float, int]:
    """Env steps/s of one learn() call, and how many episodes it ran (equal episodes = equal trajectories)."""
    started = time.perf_counter()
    agent.learn(total_timesteps=steps, callback=callback)
    return agent.num_timesteps / (time.perf_counter() - started), agent._episode_num


def plain_agent(task) -> DQN:
    return DQN(
        "MlpPolicy",
        task.make_env(),
        seed=task.seed,
        device="cpu",
        verbose=0,
        policy_kwargs={"net_arch": [64, 64]},
        **task.algorithm_hyperparameters,
    )


def our_agent(task, initial_weights: list[torch.Tensor]):
    """Our trial's agent, started from plain SB3's initial weights so both see the same episodes."""
    space = parse_class_args({"task": {"env": task.env}}).build_space()
    agent = build_agent(task, NetworkFactory(space, space.parse_architecture_name("64-relu_64-relu")), "cpu")
    with torch.no_grad():
        for ours, theirs in zip(agent.policy.parameters(), initial_weights, strict=True):
            ours.copy_(theirs)
    return agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = {
        "env": "LunarLander-v3",
        "report_every": 10000,
        "total_timesteps": args.steps,
        "score": {"solved_on": "training_episodes"},
    }
    training_only = parse_class_args({"task": {**base, "eval_episodes": 0}}).task
    with_curve = parse_class_args({"task": {**base, "eval_episodes": 10}}).task
    initial_weights = [p.detach().clone() for p in plain_agent(training_only).policy.parameters()]
    runs = {
        "plain SB3": lambda: timed_learn(plain_agent(training_only), args.steps),
        "ours (training loop)": lambda: timed_learn(
            our_agent(training_only, initial_weights), args.steps, LearningCurveCallback(LearningCurve(training_only))
        ),
        "ours (+ greedy curve)": lambda: timed_learn(
            our_agent(with_curve, initial_weights), args.steps, LearningCurveCallback(LearningCurve(with_curve))
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    episodes: dict[str, set[int]] = {name: set() for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:  # rotate: no variant always first
            rate, episode_count = runs[name]()
            rates[name].append(rate)
            episodes[name].add(episode_count)
        print(
            f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items()),
            flush=True,
        )
    print(f"episodes per run (equal = same trajectories): {episodes}")
    plain = statistics.median(rates["plain SB3"])
    print(f"\nLunarLander-v3 DQN 64-relu_64-relu, {args.steps} env steps x {args.repeats} repeats, median env steps/s")
    for name, values in rates.items():
        print(
            f"{name:>24}: {statistics.median(values):8.1f} steps/s   "
            f"ratio to plain SB3 {statistics.median(values) / plain:.3f}"
        )


if __name__ == "__main__":
    main()
