"""One DARTS search on a MinAtar game, recorded report point by report point: how the search
settings move the operation weights, their entropy, the genotype and the supernet agent's return.

For choosing search settings away from the benchmark's games (Seaquest, search seed 100): the
benchmark (`darts_encoders.py`) never sees these runs. The space is the shipped macro space; the
supernet agent is scored on 1 greedy episode per report point (Seaquest's greedy episodes can run
to the 10k-step time limit), every tenth of the search. The record goes to ``--out``.

    python benchmarks/darts_search_diagnostic.py --game Seaquest --steps 100000 --arch-lr 0.1 \\
        --temperature 0.2 --schedule linear --warmup 0.5 \\
        --out benchmarks/results/darts_minatar/diagnostics/seaquest_warmup.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.files import write_json
from nni_rl_nas.oneshot.darts import run_darts_search
from nni_rl_nas.options import DartsOptions

SPACE = {"family": "darts", "wiring": "macro", "channels": [16, 32, 32], "nodes": 3, "normal_cells": 2}
SEARCH_SEED = 100
KEPT = (
    "env_steps",
    "greedy_return",
    "training_return",
    "arch_entropy",
    "genotype",
    "wall_clock_s",
    "operation_weights",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Seaquest")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--arch-lr", type=float, default=0.1)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--schedule", default="linear")
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {
                "env": f"MinAtar/{args.game}-v1",
                "algorithm": "ppo",
                "total_timesteps": args.steps,
                "seed": SEARCH_SEED,
                "seeds": 1,
                "report_every": args.steps // 10,
                "eval_episodes": 5,
            },
        }
    )
    settings = DartsOptions(
        search_timesteps=args.steps,
        arch_learning_rate=args.arch_lr,
        temperature=args.temperature,
        seed=SEARCH_SEED,
        search_eval_episodes=1,
        arch_learning_rate_schedule=args.schedule,
        arch_warmup=args.warmup,
    )
    with tempfile.TemporaryDirectory() as folder:
        result = run_darts_search(spec.task, spec.build_space(), spec.build_space, settings, Path(folder), "cpu")
        record = json.loads((Path(folder) / "darts_search.json").read_text())
    write_json(
        args.out,
        {
            "settings": vars(args) | {"out": str(args.out)},
            "result": result,
            "curve": [{key: point[key] for key in KEPT} for point in record["curve"]],
        },
    )
    for point in record["curve"]:
        print(point["env_steps"], round(point["arch_entropy"], 3), point["greedy_return"], point["genotype"])


if __name__ == "__main__":
    main()
