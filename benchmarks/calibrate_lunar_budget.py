"""Does one architecture solve LunarLander-v3 within the default budget? One trial per seed, side by side.

Runs the real trial code (``run_trial``) outside NNI, one process per seed, and prints for each
seed when the agent was first judged solved (>= 200 mean over 100 consecutive greedy episodes)
and its seed-rule score. The shipped LunarLander budget must make 64-relu_64-relu solve on at
least 2 of 3 seeds.

    python benchmarks/calibrate_lunar_budget.py --architecture 64-relu_64-relu --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml


def experiment_yaml(directory: Path, seed: int, budget: int | None) -> Path:
    task = {
        "env": "LunarLander-v3",
        "seed": seed,
        "seeds": 1,
        "report_every": 10000,
        "score": {"rule": "solved_then_eval", "episodes": 100, "stop_on_solve": True},
    }
    if budget:
        task["total_timesteps"] = budget
    config = {
        "trialCommand": "nni-rl-nas trial calibrate.yml",
        "trialCodeDirectory": ".",
        "searchSpace": {},
        "trialConcurrency": 1,
        "trainingService": {"platform": "local"},
        "tuner": {"name": "RlNasGrid", "classArgs": {"space": {"family": "mlp"}, "task": task}},
    }
    path = directory / "calibrate.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def one_seed(architecture: str, seed: int, budget: int | None) -> dict:
    import os

    from nni_rl_nas.trial import run_trial

    directory = Path(tempfile.mkdtemp(prefix=f"calibrate-{seed}-"))
    os.environ["NNI_OUTPUT_DIR"] = str(directory)
    return {"seed": seed, **run_trial(experiment_yaml(directory, seed, budget), architecture)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="64-relu_64-relu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, help="env steps per trial (default: the shipped LunarLander budget)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(
            pool.map(one_seed, [args.architecture] * len(args.seeds), args.seeds, [args.budget] * len(args.seeds))
        )
    from nni_rl_nas.experiment import parse_class_args

    budget = args.budget or parse_class_args({"task": {"env": "LunarLander-v3"}}).task.budget
    print(f"\n{args.architecture} on LunarLander-v3, budget {budget} env steps per seed, stop on solve")
    print(f"{'seed':>4} {'solved at':>10} {'score':>8} {'mean return (other seeds)':>26} {'wall clock s':>13}")
    for r in results:
        mean = "-" if r["mean_return"] is None else f"{r['mean_return']:.1f} +- {r['std_return']:.1f}"
        print(
            f"{r['seed']:>4} {str(r['solved_at'] or '-'):>10} {r['default']:>8.4g} {mean:>26} {r['wall_clock_s']:>13}"
        )
    print(f"solved on {sum(r['solved'] for r in results)} of {len(results)} seeds")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
