"""Validation's memory estimate of one agent (nni_rl_nas/resources.py) vs the memory it takes.

Each case builds the agent of a config's largest architecture and trains it, in a process of its
own, long enough to fill its replay buffer (or to collect rollouts and update, for PPO); the measure
is the growth of the process's peak resident memory from just before the agent is built. The
estimate is meant as an upper bound close enough to refuse only what cannot fit: a ratio estimate /
measured >= 1 and not far above it. Each case also records the process's memory before the agent is
built, its imports done: what resources.PROCESS_BYTES stands for. Results are appended, one JSON
line per case, to benchmarks/results/memory_estimate/results.jsonl (a case already there is skipped:
resumable).

    python benchmarks/memory_estimate.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import yaml

from nni_rl_nas.files import append_json_lines

RESULTS = Path(__file__).parent / "results" / "memory_estimate" / "results.jsonl"
CASES = {
    "dqn-lunar-16x2": (
        "{space: {family: mlp, depth: 2, widths: [16], activations: [relu]}, task: "
        "{env: LunarLander-v3, hyperparameters: {buffer_size: 20000, train_freq: 500, "
        "gradient_steps: 1}}}",
        20000,
    ),
    "dqn-cartpole-200000-wide": (
        "{space: {family: mlp, depth: 1, widths: [200000], activations: [relu]}, task: "
        "{env: CartPole-v1, hyperparameters: {learning_starts: 100, train_freq: 1, "
        "gradient_steps: 1, buffer_size: 1000}}}",
        1000,
    ),
    "dqn-lunar-2048x2": (
        "{space: {family: mlp, depth: 2, widths: [2048], activations: [relu]}, task: "
        "{env: LunarLander-v3, hyperparameters: {buffer_size: 20000, train_freq: 500, "
        "gradient_steps: 1}}}",
        20000,
    ),
    "sac-pendulum-1024x2": (
        "{space: {family: mlp, depth: 2, widths: [1024], activations: [relu]}, task: "
        "{env: Pendulum-v1, algorithm: sac, hyperparameters: {buffer_size: 5000, train_freq: 250, "
        "gradient_steps: 1, learning_starts: 100}}}",
        5000,
    ),
    "ppo-minatar-impala-c64b3": (
        "{space: {family: impala, channels: [64], blocks: [3]}, task: {env: MinAtar/Breakout-v1, "
        "algorithm: ppo, hyperparameters: {n_steps: 256, n_epochs: 1}}}",
        512,
    ),
    "dqn-minatar-darts": (
        "{space: {family: darts}, task: {env: MinAtar/Breakout-v1, hyperparameters: "
        "{buffer_size: 5000, train_freq: 1000, gradient_steps: 1, learning_starts: 100}}}",
        5000,
    ),
}


def measure(class_args: str, steps: int) -> dict:
    """In this process: the estimate, then the peak memory growth of building and training the agent."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory, build_agent
    from nni_rl_nas.experiment import parse_class_args
    from nni_rl_nas.resources import estimate_trial_memory

    torch.set_num_threads(1)
    spec = parse_class_args(yaml.safe_load(class_args))
    estimate = estimate_trial_memory(spec)
    space = spec.build_space()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the process, imports done (PROCESS_BYTES)
    agent = build_agent(spec.task, NetworkFactory(space, space.largest_architecture()), "cpu")
    agent.learn(steps)
    measured = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {
        "estimate_bytes": estimate.agent_bytes,
        "measured_bytes": measured,
        "ratio": round(estimate.agent_bytes / measured, 2),
        "process_bytes": before,
        "largest": estimate.largest,
        "parameters": estimate.parameters,
        "steps": steps,
    }


def main() -> None:
    if len(sys.argv) == 3:  # the child: one case
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
        return
    done = {json.loads(line)["case"] for line in RESULTS.read_text().splitlines()} if RESULTS.exists() else set()
    print(f"{'case':28} {'estimate GB':>12} {'measured GB':>12} {'ratio':>6} {'process GB':>11}")
    for name, (class_args, steps) in CASES.items():
        if name not in done:
            child = subprocess.run(
                [sys.executable, __file__, class_args, str(steps)], capture_output=True, text=True, check=True
            )
            row = {"case": name, **json.loads(child.stdout.strip().splitlines()[-1])}
            append_json_lines(RESULTS, [row])  # one line per case: a stopped run loses at most the case in progress
    for line in RESULTS.read_text().splitlines():
        row = json.loads(line)
        print(
            f"{row['case']:28} {row['estimate_bytes'] / 2**30:12.3f} {row['measured_bytes'] / 2**30:12.3f} "
            f"{row['ratio']:6.2f} {row['process_bytes'] / 2**30:11.3f}"
        )


if __name__ == "__main__":
    main()
