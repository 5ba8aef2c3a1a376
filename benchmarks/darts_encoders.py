"""DARTS-derived encoders against baseline encoders and against random search, on MinAtar with PPO.

Per game (one process each, in parallel, one torch thread each):

1. DARTS search (search seed 0): PPO with the supernet encoder for ``--search-steps`` env steps
   (:func:`run_darts_search`), wall-clock measured.
2. Random search at equal compute: random genotypes of the same space (generator seed 0), each
   trained for the full ``--steps`` on seed 0, until their total wall-clock reaches the DARTS
   search's; the best-scoring one is random search's pick.
3. Every encoder trained from scratch on seeds 1..``--seeds`` for ``--steps`` env steps, scored by
   the mean greedy return of 20 episodes: the DARTS-derived genotype, random search's pick, and
   IMPALA-CNN (16, 32, 32 channels, 2 residual blocks per stage; the impala family's published
   point). SB3's NatureCNN is reported as not applicable: its 8x8 stride-4 and 4x4 stride-2
   convolutions need at least 36x36 pixels, MinAtar frames are 10x10.

Printed: per game and encoder, the final score's mean +- std over seeds; the search cost as a
multiple of one agent's training (the DARTS search's wall-clock over the mean wall-clock of one
derived agent's training, and in env steps). Results go to ``--out``/<game>.json after every run,
so an interrupted benchmark keeps what it measured; ``--report-only`` reprints them.

    python benchmarks/darts_encoders.py --games Breakout SpaceInvaders --seeds 3 --steps 100000 \\
        --search-steps 20000 --arch-lr 0.01 --out benchmarks/results/darts_minatar
    python benchmarks/darts_encoders.py --cost-only --games Breakout --steps 4096 --seeds 3 \
        --out benchmarks/results/darts_minatar

``--cost-only`` times the search's cost on a quiet machine: PPO env steps with the supernet encoder
against the derived encoder, alternating in one process (the full run's wall-clocks are taken
while the other game's process shares the cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SPACE = {"family": "darts", "channels": 8, "nodes": 3, "cells": ["normal", "reduce"]}
IMPALA = {"family": "impala", "channels": [16, 32], "blocks": [2]}
IMPALA_CNN = "c16b2_c32b2_c32b2"


def spec_for(space: dict, game: str, steps: int, seed: int):
    from nni_rl_nas.experiment import parse_class_args

    return parse_class_args({"space": space, "task": {
        "env": f"MinAtar/{game}-v1", "algorithm": "ppo", "total_timesteps": steps, "seed": seed, "seeds": 1,
        "report_every": steps // 4, "eval_episodes": 5, "score": {"rule": "mean_return", "episodes": 20}}})


def train(space: dict, architecture: str, game: str, steps: int, seed: int) -> dict:
    """One agent of one encoder: its score, wall-clock and learning curve."""
    from nni_rl_nas.algorithms import NetworkFactory
    from nni_rl_nas.training.seeds import train_over_seeds

    spec = spec_for(space, game, steps, seed)
    built = spec.build_space()
    started = time.monotonic()
    fields, curve, _ = train_over_seeds(spec.task, NetworkFactory(built, built.parse_architecture_name(architecture)),
                                        "cpu")
    return {"architecture": architecture, "seed": seed, "score": fields["default"],
            "wall_clock_s": round(time.monotonic() - started, 1), "parameters": fields["parameters"],
            "curve": [(point["env_steps"], point["default"]) for point in curve]}


def save(out: Path, game: str, results: dict) -> None:
    from nni_rl_nas.files import write_json

    write_json(out / f"{game}.json", results)


def run_game(game: str, seeds: int, steps: int, search_steps: int, arch_lr: float, out: Path) -> dict:
    import numpy as np
    import torch

    from nni_rl_nas.oneshot.darts import run_darts_search
    from nni_rl_nas.options import DartsOptions
    from nni_rl_nas.spaces import search_choices

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    results: dict = {"game": game, "steps": steps, "search_steps": search_steps, "arch_learning_rate": arch_lr,
                     "runs": []}
    spec = spec_for(SPACE, game, steps, 0)
    space = spec.build_space()
    started = time.monotonic()
    search = run_darts_search(spec.task, space, spec.build_space, DartsOptions(search_timesteps=search_steps,
                                                                               arch_learning_rate=arch_lr),
                              Path(tempfile.mkdtemp()), "cpu")
    results["search"] = {**search, "wall_clock_s": round(time.monotonic() - started, 1)}
    save(out, game, results)

    rng = np.random.default_rng(0)
    choices = search_choices(space)
    random_runs, spent = [], 0.0
    while not random_runs or spent < results["search"]["wall_clock_s"]:
        architecture = {label: values[rng.integers(len(values))] for label, values in choices.items()}
        run = train(SPACE, space.architecture_name(architecture), game, steps, 0)
        random_runs.append(run)
        spent += run["wall_clock_s"]
        results["random_search"] = {"runs": random_runs, "wall_clock_s": round(spent, 1)}
        save(out, game, results)
    random_pick = max(random_runs, key=lambda run: run["score"])["architecture"]

    for seed in range(1, seeds + 1):
        for encoder, space_options, architecture in (("DARTS", SPACE, search["derived"]),
                                                     ("IMPALA-CNN", IMPALA, IMPALA_CNN),
                                                     ("random search", SPACE, random_pick)):
            results["runs"].append({"encoder": encoder, **train(space_options, architecture, game, steps, seed)})
            save(out, game, results)
    return results


def step_costs(game: str, architecture: str, steps: int, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds per env step of PPO training with the supernet encoder and with ``architecture``'s,
    alternating, ``repeats`` times each, in this process."""
    import torch

    from nni_rl_nas.algorithms import NetworkFactory, build_agent
    from nni_rl_nas.oneshot.darts import SupernetFactory, alternate_updates
    from nni_rl_nas.options import DartsOptions

    torch.set_num_threads(1)
    spec = spec_for(SPACE, game, steps, 0)
    space = spec.build_space()
    supernet, derived = [], []
    for _ in range(repeats):
        agent = build_agent(spec.task, SupernetFactory(spec.build_space), "cpu")
        alternate_updates(agent, "ppo", DartsOptions())
        started = time.perf_counter()
        agent.learn(steps)
        supernet.append((time.perf_counter() - started) / agent.num_timesteps)
        agent = build_agent(spec.task, NetworkFactory(space, space.parse_architecture_name(architecture)), "cpu")
        started = time.perf_counter()
        agent.learn(steps)
        derived.append((time.perf_counter() - started) / agent.num_timesteps)
    return supernet, derived


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} +- {spread:.2f} (n={len(values)})"


def report(results: dict) -> None:
    game, search = results["game"], results.get("search")
    print(f"\n## MinAtar/{game}-v1, PPO, {results['steps']} env steps per agent")
    print("| encoder | final score (mean greedy return, 20 episodes) over seeds | parameters |")
    print("|---|---|---|")
    for encoder in ("DARTS", "random search", "IMPALA-CNN"):
        runs = [run for run in results["runs"] if run["encoder"] == encoder]
        parameters = runs[0]["parameters"] if runs else "-"
        print(f"| {encoder} | {_spread([run['score'] for run in runs])} | {parameters} |")
    print("| SB3 NatureCNN | not applicable: needs >= 36x36 pixels, MinAtar frames are 10x10 | - |")
    if search:
        darts_agents = [run["wall_clock_s"] for run in results["runs"] if run["encoder"] == "DARTS"]
        print(f"DARTS search: {search['env_steps']} env steps, {search['wall_clock_s']} s, final architecture-weight "
              f"entropy {search['arch_entropy']:.3f} (uniform: {search['max_entropy']:.3f}); derived {search['derived']}")
        if darts_agents:
            agent_s = statistics.mean(darts_agents)
            print(f"search cost: {search['wall_clock_s'] / agent_s:.2f}x one derived agent's training in wall-clock "
                  f"({agent_s:.0f} s), {search['env_steps'] / results['steps']:.2f}x in env steps")
    if "random_search" in results:
        random = results["random_search"]
        print(f"random search at equal compute: {len(random['runs'])} genotypes in {random['wall_clock_s']} s, "
              f"seed-0 scores {[round(run['score'], 2) for run in random['runs']]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["Breakout", "SpaceInvaders"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--search-steps", type=int, default=20_000)
    parser.add_argument("--arch-lr", type=float, default=1e-2, help="Adam's rate on the architecture weights")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/darts_minatar"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--cost-only", action="store_true",
                        help="only time PPO env steps with the supernet against the derived encoder of --out's "
                             "first game, side by side (--steps env steps, --seeds repeats)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.cost_only:
        results = json.loads((args.out / f"{args.games[0]}.json").read_text())
        supernet, derived = step_costs(args.games[0], results["search"]["derived"], args.steps, args.seeds)
        ratio = statistics.median(supernet) / statistics.median(derived)
        print(f"PPO on MinAtar/{args.games[0]}-v1, medians of {args.seeds} alternating runs of {args.steps} env steps: "
              f"supernet {1e3 * statistics.median(supernet):.2f} ms/step, derived encoder "
              f"{1e3 * statistics.median(derived):.2f} ms/step, ratio {ratio:.1f}x; a search of "
              f"{results['search_steps']} env steps costs {ratio * results['search_steps'] / results['steps']:.2f}x "
              f"one agent's {results['steps']} env steps")
        return
    if not args.report_only:
        with ProcessPoolExecutor(len(args.games)) as pool:
            list(pool.map(run_game, args.games, [args.seeds] * len(args.games), [args.steps] * len(args.games),
                          [args.search_steps] * len(args.games), [args.arch_lr] * len(args.games),
                          [args.out] * len(args.games)))
    for game in args.games:
        path = args.out / f"{game}.json"
        if path.exists():
            report(json.loads(path.read_text()))


if __name__ == "__main__":
    main()
