"""The batched S-seed DQN trainer against S sequential Stable-Baselines3 runs: speed and learning.

Both sides are a trial's own training path (``train_over_seeds``), same architecture
(64-relu_64-relu; ``throughput --architecture`` picks another), same shipped hyperparameters, same
seeds; only ``task.engine`` differs.

``throughput``: aggregate env steps/s of S seeds of LunarLander-v3 training, engine ``sb3`` (the S
agents one after another) against ``batched`` (all S in one computation), one torch thread,
without periodic evaluations; the median of ``--repeats`` side-by-side runs and its ratio.

``learning``: each env trained to its budget with both engines over ``--seeds`` seeds (the two
engines in parallel, one core each). Printed: the mean greedy return (10 episodes) at each report
point and the final score (100 greedy episodes) across seeds, mean +- std for each engine, and
whether the batched mean lies inside SB3's seed-to-seed spread (within one std of SB3's mean)
for the final score and for the curve's average over its points. The per-seed results go to
``--out``/learning.json; ``--replay-only`` reprints them.

    python benchmarks/batched_trainer.py throughput --seeds 8 --steps 5000 --repeats 3
    python benchmarks/batched_trainer.py throughput --seeds 8 --steps 2000 --architecture 256-relu_256-relu
    python benchmarks/batched_trainer.py learning --seeds 8 --out benchmarks/results/batched_dqn
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ARCHITECTURE = "64-relu_64-relu"
BUDGETS = {"LunarLander-v3": 100_000, "CartPole-v1": 50_000}  # rl-baselines3-zoo's budgets for these settings
ENGINES = ("sb3", "batched")


def train(
    engine: str,
    env: str,
    steps: int,
    seeds: int,
    report_every: int,
    eval_episodes: int,
    architecture: str = ARCHITECTURE,
    device: str = "cpu",
) -> dict:
    """One trial's training of ``seeds`` agents with ``engine``; the per-seed results."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory
    from nni_rl_nas.experiment import parse_class_args
    from nni_rl_nas.training.seeds import train_over_seeds

    logging.getLogger("nni").setLevel(logging.WARNING)  # NNI's standalone mode prints every intermediate result
    torch.set_num_threads(1)
    score = {} if eval_episodes else {"solved_on": "training_episodes", "episodes": 1}
    spec = parse_class_args(
        {
            "space": {"family": "mlp"},
            "task": {
                "env": env,
                "engine": engine,
                "seeds": seeds,
                "total_timesteps": steps,
                "report_every": report_every,
                "eval_episodes": eval_episodes,
                "score": score,
            },
        }
    )
    space = spec.build_space()
    fields, curve, _ = train_over_seeds(
        spec.task, NetworkFactory(space, space.parse_architecture_name(architecture)), device
    )
    return {
        "engine": engine,
        "env": env,
        "seed_scores": fields["seed_scores"],
        "env_steps": fields["env_steps"],
        "training_s": fields["training_s"],
        "steps_per_s": fields["env_steps"] / fields["training_s"],
        "curve": [{"env_steps": point["env_steps"], "seed_returns": point["seed_defaults"]} for point in curve],
    }


def throughput(args: argparse.Namespace) -> None:
    rates: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    for repeat in range(args.repeats):
        for engine in ENGINES[repeat % 2 :] + ENGINES[: repeat % 2]:  # alternate which goes first
            result = train(
                engine, "LunarLander-v3", args.steps, args.seeds, args.steps, 0, args.architecture, args.device
            )
            rates[engine].append(result["steps_per_s"])
        print(
            f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k}: {v[-1]:.0f}" for k, v in rates.items()),
            flush=True,
        )
    reference = statistics.median(rates["sb3"])
    print(
        f"\nLunarLander-v3 DQN {args.architecture}, {args.seeds} seeds x {args.steps} env steps, one torch thread, "
        f"on {args.device}, median of {args.repeats}"
    )
    print(f"{'':<40}{'env steps/s':>12}{'ratio':>8}")
    labels = {"sb3": f"{args.seeds} sequential SB3 runs", "batched": f"batched trainer, S = {args.seeds}"}
    for engine, label in labels.items():
        median = statistics.median(rates[engine])
        print(f"{label:<40}{median:>12.0f}{median / reference:>8.2f}")


def inside_spread(reference: list[float], candidate: list[float]) -> bool:
    """The candidate's mean lies within one seed-to-seed std of the reference's mean."""
    return abs(float(np.mean(candidate)) - float(np.mean(reference))) <= float(np.std(reference))


def verdicts(results: dict) -> dict:
    """Per env: the final-score and curve-average comparisons of batched against SB3."""
    checks = {}
    for env, by_engine in results.items():
        sb3, batched = by_engine["sb3"], by_engine["batched"]
        checks[env] = {
            "final_score": inside_spread(sb3["seed_scores"], batched["seed_scores"]),
            "curve_average": inside_spread(curve_averages(sb3), curve_averages(batched)),
        }
    return checks


def curve_averages(result: dict) -> list[float]:
    """Each seed's greedy return averaged over the report points (the area under its curve)."""
    return list(np.mean([point["seed_returns"] for point in result["curve"]], axis=0))


def spread(values: list[float]) -> str:
    return f"{np.mean(values):8.1f} +- {np.std(values):5.1f}"


def print_learning(results: dict) -> None:
    checks = verdicts(results)
    for env, by_engine in results.items():
        sb3, batched = by_engine["sb3"], by_engine["batched"]
        seeds = len(sb3["seed_scores"])
        print(f"\n{env}, DQN {ARCHITECTURE}, {seeds} seeds; mean greedy return +- std across seeds")
        print(f"{'env steps':>10}{'SB3':>20}{'batched':>20}")
        for reference, candidate in zip(sb3["curve"], batched["curve"]):
            print(
                f"{reference['env_steps']:>10}{spread(reference['seed_returns']):>20}"
                f"{spread(candidate['seed_returns']):>20}"
            )
        print(f"{'score':>10}{spread(sb3['seed_scores']):>20}{spread(batched['seed_scores']):>20}")
        print(
            f"{'steps/s':>10}{sb3['steps_per_s']:>20.0f}{batched['steps_per_s']:>20.0f}"
            "  (the engines ran side by side: see the throughput mode for speed)"
        )
        print(
            f"batched inside SB3's spread: final score {checks[env]['final_score']}, "
            f"curve average {checks[env]['curve_average']} "
            f"({spread(curve_averages(sb3)).strip()} vs {spread(curve_averages(batched)).strip()})"
        )


def learning(args: argparse.Namespace) -> None:
    path = Path(args.out) / "learning.json"
    if not args.replay_only:
        jobs = [(engine, env) for env in args.envs for engine in ENGINES]
        with ProcessPoolExecutor(args.workers) as pool:
            done = list(
                pool.map(
                    train,
                    *zip(
                        *[
                            (engine, env, BUDGETS.get(env, args.steps), args.seeds, args.report_every, 10)
                            for engine, env in jobs
                        ]
                    ),
                )
            )
        results: dict = {}
        for result in done:
            results.setdefault(result["env"], {})[result["engine"]] = result
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"results": results, "verdicts": verdicts(results)}, indent=1))
    print_learning(json.loads(path.read_text())["results"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    speed = modes.add_parser("throughput")
    speed.add_argument("--seeds", type=int, default=8)
    speed.add_argument("--steps", type=int, default=5000, help="env steps per seed")
    speed.add_argument("--repeats", type=int, default=3)
    speed.add_argument("--architecture", default=ARCHITECTURE)
    speed.add_argument("--device", default="cpu", help="where the networks train: cpu, or cuda on a GPU machine")
    learn = modes.add_parser("learning")
    learn.add_argument("--envs", nargs="+", default=list(BUDGETS))
    learn.add_argument("--seeds", type=int, default=8)
    learn.add_argument("--steps", type=int, default=100_000, help="budget of an env without one in BUDGETS")
    learn.add_argument("--report-every", type=int, default=10_000)
    learn.add_argument("--workers", type=int, default=2)
    learn.add_argument("--out", default="benchmarks/results/batched_dqn")
    learn.add_argument("--replay-only", action="store_true")
    args = parser.parse_args(argv)
    throughput(args) if args.mode == "throughput" else learning(args)


if __name__ == "__main__":
    sys.exit(main())
