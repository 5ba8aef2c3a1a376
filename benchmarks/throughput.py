"""Where a trial's env steps/s stands: the LunarLander simulator's limit, and trials side by side.

Measured in one run, each figure the median of ``--repeats``:

- the simulator alone: LunarLander-v3 stepped with random actions (the ceiling for any trainer);
- one trial's DQN training of 64-relu_64-relu (the shipped LunarLander settings) with one torch
  thread, and the same with two threads;
- two such trials at once, one process each (trialConcurrency 2 on 2 cores): their aggregate.

Printed as ratios to one trial with one thread. The training is the trial's own agent and
learning-curve callback (:mod:`nni_rl_nas.evaluator`), without the periodic greedy evaluations.

    python benchmarks/throughput.py --steps 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import gymnasium as gym


def simulator_rate(steps: int) -> float:
    env = gym.make("LunarLander-v3")
    env.reset(seed=0)
    env.action_space.seed(0)
    started = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - started)


def training_rate(steps: int, threads: int = 1, seed: int = 0) -> float:
    """Env steps/s of one trial's training loop (its agent and callback), in this process."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory, build_agent
    from nni_rl_nas.experiment import parse_class_args
    from nni_rl_nas.training.curve import LearningCurve, LearningCurveCallback

    torch.set_num_threads(threads)
    task = parse_class_args(
        {
            "task": {
                "env": "LunarLander-v3",
                "seed": seed,
                "total_timesteps": steps,
                "eval_episodes": 0,
                "report_every": steps,
                "score": {"solved_on": "training_episodes"},
            }
        }
    ).task
    space = parse_class_args({"task": {"env": task.env}}).build_space()
    agent = build_agent(task, NetworkFactory(space, space.parse_architecture_name("64-relu_64-relu")), "cpu")
    started = time.perf_counter()
    agent.learn(total_timesteps=steps, callback=LearningCurveCallback(LearningCurve(task)))
    return agent.num_timesteps / (time.perf_counter() - started)


def side_by_side_rate(steps: int) -> float:
    """Aggregate env steps/s of two trials training at once, one process each."""
    with ProcessPoolExecutor(2) as pool:
        return sum(pool.map(training_rate, [steps, steps], [1, 1], [0, 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    measures = {
        "LunarLander simulator alone (random actions)": lambda: simulator_rate(10 * args.steps),
        "one trial, 1 torch thread": lambda: training_rate(args.steps, 1),
        "one trial, 2 torch threads": lambda: training_rate(args.steps, 2),
        "two trials at once (aggregate)": lambda: side_by_side_rate(args.steps),
    }
    rates: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for repeat in range(args.repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:  # rotate the order
            rates[name].append(measures[name]())
        print(
            f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k}: {v[-1]:.0f}" for k, v in rates.items()),
            flush=True,
        )
    reference = statistics.median(rates["one trial, 1 torch thread"])
    print(f"\nLunarLander-v3 DQN 64-relu_64-relu, {args.steps} env steps per trial, median of {args.repeats}")
    print(f"{'':<48}{'env steps/s':>12}{'ratio':>8}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<48}{median:>12.0f}{median / reference:>8.2f}")


if __name__ == "__main__":
    main()
