"""The LunarLander landscape: every architecture of a small MLP space trained with DQN, recorded once.

A tabular benchmark in the manner of NAS-Bench-101/201, for RL agents: every architecture of
``SPACE`` (two layers, widths {16, 32, 64, 128}, activations {relu, tanh}: 64 architectures) is
trained with DQN on LunarLander-v3 with the shipped hyperparameters, on ``SEEDS``, to ``--budget``
env steps, and recorded: the learning curve (greedy mean of 10 episodes and training-episode
mean every 10k env steps), the env steps at which each solve rule first judged it solved, its
score under each shipped score rule (:data:`RULES`), the wall-clock and its parameters. A search
is then replayed against the table in seconds (``benchmarks/replay_landscape.py``) instead of
training.

Generation trains whole populations at once with the batched engine: the architectures of one
shape (the same widths, every activation) and the seeds they still lack form one trainer (16
agents for 4 seeds), each unit in a process of its own, ``--workers`` at a time. It is
resumable per (architecture, seed): a unit's records are appended in one atomic write when it
ends, a pair already in the file is not trained again, and a run stopped anywhere loses only the
units in progress. Growing ``SEEDS`` (first 0-3, then 0-9) therefore trains only the new seeds;
an agent's randomness comes from its own seed alone, so which agents shared its trainer does not
change its record.

Memory: under glibc's malloc a long unit fragments the heap (measured: a 24-agent 128x128 unit
grew one process to 12.8 GB; its first 4,000 steps took it from 0.99 to 1.28 GB); jemalloc keeps
it flat (0.69 GB over the same steps) and ran them faster (44 s against 55 s, each beside another
such process), so run generation with it (Debian's libjemalloc2):

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 python benchmarks/landscape.py generate --workers 2

    python benchmarks/landscape.py generate --workers 2          # resumes where it stopped
    python benchmarks/landscape.py throughput --steps 3000       # batched vs sequential SB3, same work
    python benchmarks/landscape.py summary                       # size, cost and the top of the table
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from nni_rl_nas.files import append_json_lines, write_json
from nni_rl_nas.landscape import LANDSCAPE_FILE, RECORDS_FILE, load_landscape

OUT = Path(__file__).parent / "results" / "landscape_lunar"
ENV = "LunarLander-v3"
SPACE = {"family": "mlp", "depth": 2, "widths": [16, 32, 64, 128], "activations": ["relu", "tanh"]}
# Seeds 0-4 are the ones a replayed search may see, 5-9 the test seeds that judge its pick
# (nni_rl_nas.landscape.SEARCH_SEEDS, TEST_SEEDS).
SEEDS = tuple(range(10))
# Recorded beside the space on the same seeds, to judge a search's pick against what a user would
# pick by hand: rl-baselines3-zoo's DQN network for LunarLander (outside the space: a search never
# proposes it).
BASELINES = ("256-relu_256-relu",)
BUDGET = 100_000  # rl-baselines3-zoo's own budget for these settings (the shipped 500k: see the README)
REPORT_EVERY, CURVE_EPISODES = 10_000, 10
# The shipped score rules (grid_lunar.yml's two judgements of "solved", and the default rule), by name.
RULES = {
    "mean_return": {"rule": "mean_return", "episodes": 100},
    "solved_then_eval": {"rule": "solved_then_eval", "solved_on": "greedy_eval", "episodes": 100, "scale": 30},
    "solved_then_eval_training": {
        "rule": "solved_then_eval",
        "solved_on": "training_episodes",
        "episodes": 100,
        "scale": 30,
    },
}


def landscape_spec(budget: int, space: dict = SPACE):
    """The experiment spec each agent trains under: the shipped LunarLander DQN settings, batched."""
    from nni_rl_nas.experiment import parse_class_args

    return parse_class_args(
        {
            "space": space,
            "task": {
                "env": ENV,
                "algorithm": "dqn",
                "engine": "batched",
                "seeds": len(SEEDS),
                "total_timesteps": budget,
                "report_every": REPORT_EVERY,
                "eval_episodes": CURVE_EPISODES,
                "score": RULES["solved_then_eval"],
            },
        }
    )


def units(space) -> list[list[str]]:
    """The space's architectures grouped by shape (same layer sizes: one batched trainer each),
    costliest first so that the slowest unit does not start last."""
    from nni_rl_nas.spaces import search_choices

    choices = search_choices(space)
    shapes: dict[tuple, list[str]] = {}
    for values in itertools.product(*choices.values()):
        architecture = dict(zip(choices, values))
        shape = tuple(value for label, value in architecture.items() if label.endswith("_width"))
        shapes.setdefault(shape, []).append(space.architecture_name(architecture))
    return [shapes[shape] for shape in sorted(shapes, key=lambda shape: -int(np.prod(shape)) - sum(shape))]


def baseline_space(architecture: str) -> dict:
    """A space holding only ``architecture`` (``256-relu_256-relu``: widths [256], activations [relu])."""
    layers = [layer.split("-") for layer in architecture.split("_")]
    return {
        "family": "mlp",
        "depth": len(layers),
        "widths": sorted({int(width) for width, _ in layers}),
        "activations": sorted({activation for _, activation in layers}),
    }


def train_unit(architectures: list[str], seeds: list[int], budget: int, baseline: bool = False) -> list[dict]:
    """Train the unit's architectures on ``seeds`` in one batched trainer; one record per agent."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory
    from nni_rl_nas.training.batched_dqn import BatchedDQN
    from nni_rl_nas.training.scoring import CURVE_BLOCK, SOLVE_CHECK_BLOCK, TEST_BLOCK, solved_in_training

    torch.set_num_threads(1)
    machine = (
        f"{platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{len(architectures) * len(seeds)}-agent trainer"
    )
    spec = landscape_spec(budget, baseline_space(architectures[0]) if baseline else SPACE)
    space, task = spec.build_space(), spec.task
    names = [name for name in architectures for _ in seeds]
    agent_seeds = [seed for _ in architectures for seed in seeds]
    trainer = BatchedDQN(
        task, [NetworkFactory(space, space.parse_architecture_name(name)) for name in names], agent_seeds, "cpu"
    )
    agents = range(len(names))
    threshold, window = task.solve_threshold, task.score.solve_window
    episode_returns: list[list[float]] = [[] for _ in agents]
    curves: list[list[dict]] = [[] for _ in agents]
    solved = {rule: [None] * len(names) for rule in RULES if rule != "mean_return"}
    started, evaluating = time.monotonic(), 0.0

    def score(rule: str, passed: list[int]) -> None:
        """Score the agents that just passed ``rule``'s solve check, with the weights they have now."""
        returns = trainer.greedy_returns(passed, RULES[rule]["episodes"], TEST_BLOCK)
        for agent, agent_returns in zip(passed, returns):
            solved[rule][agent] = {
                "env_steps": trainer.num_timesteps,
                "value": agent_returns.mean() / RULES[rule]["scale"],
                "mean_return": agent_returns.mean(),
                "std_return": agent_returns.std(),
            }

    while trainer.num_timesteps < task.budget:
        for agent, episode_return in trainer.step():
            episode_returns[agent].append(episode_return)
        if trainer.num_timesteps % task.report_every and trainer.num_timesteps < task.budget:
            continue
        evaluation_started = time.monotonic()
        greedy = trainer.greedy_returns(agents, task.eval_episodes, CURVE_BLOCK).mean(axis=1)
        candidates = [
            agent for agent in agents if solved["solved_then_eval"][agent] is None and greedy[agent] >= threshold
        ]
        if candidates:
            checks = trainer.greedy_returns(candidates, window, SOLVE_CHECK_BLOCK).mean(axis=1)
            passed = [agent for agent, check in zip(candidates, checks) if check >= threshold]
            if passed:
                score("solved_then_eval", passed)
        passed = [
            agent
            for agent in agents
            if solved["solved_then_eval_training"][agent] is None
            and solved_in_training(episode_returns[agent], window, threshold)
        ]
        if passed:
            score("solved_then_eval_training", passed)
        evaluating += time.monotonic() - evaluation_started
        for agent in agents:
            recent = episode_returns[agent][-100:]
            curves[agent].append(
                {
                    "env_steps": trainer.num_timesteps,
                    "greedy_return": float(greedy[agent]),
                    "training_return": float(np.mean(recent)) if recent else None,
                    "episodes": len(episode_returns[agent]),
                    "wall_clock_s": round((time.monotonic() - started) / len(names), 3),
                }
            )
    # the table's own protocol since its first seeds: training never stops on solving here, so no
    # decision chose the final weights these episodes score
    final = trainer.greedy_returns(agents, RULES["mean_return"]["episodes"], SOLVE_CHECK_BLOCK)
    elapsed = time.monotonic() - started
    parameters = sum(value.numel() for value in trainer.agent_network(0).values())
    records = []
    for agent, (name, seed) in enumerate(zip(names, agent_seeds)):
        scores = {
            "mean_return": {
                "value": final[agent].mean(),
                "mean_return": final[agent].mean(),
                "std_return": final[agent].std(),
            }
        }
        at_solve = {rule: by_agent[agent] for rule, by_agent in solved.items()}
        for rule, scored in at_solve.items():
            scores[rule] = (
                {key: value for key, value in scored.items() if key != "env_steps"}
                if scored
                else {"value": spec.task.score.unsolved_score, "mean_return": None, "std_return": None}
            )
        records.append(
            json.loads(
                json.dumps(
                    {
                        "architecture": name,
                        "seed": seed,
                        "budget": task.budget,
                        "parameters": parameters,
                        "baseline": baseline,
                        "solved_at": {rule: scored and scored["env_steps"] for rule, scored in at_solve.items()},
                        "scores": scores,
                        "curve": curves[agent],
                        # the unit's agents trained together: each is charged an equal share of its time
                        "wall_clock_s": round(elapsed / len(names), 2),
                        "unit_agents": len(names),
                        "unit_training_s": round(elapsed - evaluating, 1),
                        "unit_evaluation_s": round(evaluating, 1),
                        "machine": machine,
                    },
                    default=float,
                )
            )
        )
    return records


def generate(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    logging.getLogger("nni").setLevel(logging.WARNING)
    spec = landscape_spec(args.budget)
    header = {
        "env": ENV,
        "algorithm": "dqn",
        "space": SPACE,
        "seeds": list(SEEDS),
        "budget": args.budget,
        "report_every": REPORT_EVERY,
        "curve_episodes": CURVE_EPISODES,
        "rules": RULES,
        "solve_threshold": spec.task.solve_threshold,
        "hyperparameters": spec.task.algorithm_hyperparameters,
        "command": "python benchmarks/landscape.py generate",
    }
    header_path = args.out / LANDSCAPE_FILE
    if header_path.exists():
        check_same_landscape(json.loads(header_path.read_text()), json.loads(json.dumps(header)), header_path)
    write_json(header_path, header)
    done = (
        {(record["architecture"], record["seed"]) for record in load_landscape(args.out).records}
        if (args.out / RECORDS_FILE).exists()
        else set()
    )
    every_unit = [(unit, False) for unit in units(spec.build_space())] + [([name], True) for name in BASELINES]
    # a unit partly recorded (older seeds, or another machine ran some of its architectures) trains only the rest
    todo = []
    for unit, baseline in every_unit:
        wanted = [name for name in unit if not args.architectures or name in args.architectures]
        seeds = [seed for seed in SEEDS if any((name, seed) not in done for name in wanted)]
        if seeds:
            todo.append((wanted, seeds, baseline))
    with (
        ProcessPoolExecutor(args.workers) as pool,
        tqdm(total=len(every_unit), initial=len(every_unit) - len(todo), unit="unit", desc="landscape") as progress,
    ):
        futures = {pool.submit(train_unit, unit, seeds, args.budget, baseline): unit for unit, seeds, baseline in todo}
        for future in as_completed(futures):
            records = [record for record in future.result() if (record["architecture"], record["seed"]) not in done]
            append_json_lines(args.out / RECORDS_FILE, records)
            progress.update()
            progress.write(
                f"{' '.join(futures[future])}: {records[0]['unit_training_s']:.0f} s training, "
                f"{records[0]['unit_evaluation_s']:.0f} s evaluating; best mean_return "
                f"{max(record['scores']['mean_return']['value'] for record in records):.1f}"
            )


def check_same_landscape(recorded: dict, wanted: dict, path: Path) -> None:
    """The folder's landscape may only gain seeds: every other setting must match what it recorded."""
    grows = wanted["seeds"][: len(recorded["seeds"])] == recorded["seeds"]
    if not grows or {**recorded, "seeds": None} != {**wanted, "seeds": None}:
        raise SystemExit(
            f"{path} describes another landscape (budget, space, seeds or settings differ); "
            "fix: --out a new folder, or delete it to start over"
        )


def throughput(args: argparse.Namespace) -> None:
    """Aggregate env steps/s of one unit's agents (every activation x ``--seeds`` seeds): one batched
    trainer against the same agents trained one after another by Stable-Baselines3, each for
    ``--steps`` env steps with the shipped settings, one torch thread, no evaluation."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory, build_agent
    from nni_rl_nas.training.batched_dqn import BatchedDQN

    torch.set_num_threads(1)
    logging.getLogger("nni").setLevel(logging.WARNING)
    spec = landscape_spec(args.steps)
    space = spec.build_space()
    chosen = [
        unit
        for unit in units(space)
        if len({part.split("-")[0] for part in unit[0].split("_")}) == 1 and unit[0].split("-")[0] in args.widths
    ]
    print(
        f"{ENV} DQN, shipped settings, every activation x {args.seeds} seeds per unit, {args.steps} env steps per "
        f"agent, one torch thread, median of {args.repeats}"
    )
    print(f"{'unit':<10}{'agents':>7}{'sequential SB3':>16}{'batched':>10}{'ratio':>8}")
    for unit in chosen:
        agents = [(name, seed) for name in unit for seed in range(args.seeds)]
        factories = [NetworkFactory(space, space.parse_architecture_name(name)) for name, _ in agents]
        rates: dict[str, list[float]] = {"sb3": [], "batched": []}
        for _ in range(args.repeats):
            trainer = BatchedDQN(spec.task, factories, [seed for _, seed in agents], "cpu")
            started = time.perf_counter()
            while trainer.num_timesteps < args.steps:
                trainer.step()
            rates["batched"].append(len(agents) * args.steps / (time.perf_counter() - started))
            spent = 0.0
            for (_, seed), factory in zip(agents, factories):
                agent = build_agent(dataclasses.replace(spec.task, seed=seed), factory, "cpu")
                started = time.perf_counter()
                agent.learn(total_timesteps=args.steps)
                spent += time.perf_counter() - started
            rates["sb3"].append(len(agents) * args.steps / spent)
        sb3, batched = statistics.median(rates["sb3"]), statistics.median(rates["batched"])
        shape = "x".join(part.split("-")[0] for part in unit[0].split("_"))
        print(f"{shape:<10}{len(agents):>7}{sb3:>16.0f}{batched:>10.0f}{batched / sb3:>8.2f}", flush=True)


def summary(args: argparse.Namespace) -> None:
    landscape = load_landscape(args.out)
    print(landscape.describe())
    for rule in RULES:
        ranked = landscape.ranking(rule)
        print(f"\n{rule}: top 5 of {len(ranked)} (mean over seeds +- std), then the baselines")
        for name, value in ranked[:5] + [(name, landscape.true_score(name, rule)) for name in landscape.baselines]:
            values = landscape.seed_scores(name, rule)
            print(f"  {name:<22}{value:>9.2f} +- {np.std(values):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    make = modes.add_parser("generate")
    make.add_argument("--workers", type=int, default=2, help="units at a time (one per core)")
    make.add_argument("--budget", type=int, default=BUDGET, help="env steps per agent")
    make.add_argument("--out", type=Path, default=OUT)
    make.add_argument(
        "--architectures",
        nargs="+",
        help="train only these (of the space or the baselines), e.g. to split the work between machines",
    )
    speed = modes.add_parser("throughput")
    speed.add_argument("--steps", type=int, default=3000, help="env steps per agent")
    speed.add_argument("--repeats", type=int, default=1)
    speed.add_argument("--widths", nargs="+", default=["16", "64", "128"], help="units of these equal widths")
    speed.add_argument("--seeds", type=int, default=4, help="seeds per architecture (x 4 activations)")
    show = modes.add_parser("summary")
    show.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    {"generate": generate, "throughput": throughput, "summary": summary}[args.mode](args)


if __name__ == "__main__":
    main()
