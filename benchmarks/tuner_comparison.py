"""NNI's tuners against this project's strategies on LunarLander-v3 at an equal env-step budget, with
and without DQN hyperparameters searched beside the Q-network.

Strategies: ``tpe`` and ``evolution`` (NNI's, through ``RlNasNniTuner``), ``bohb`` (NNI's, through
``RlNasBohb``), ``random`` (``RlNasRandom``) and ``policy_gradient`` (``RlNasPolicyGradient``).
Space: ``tpe_lunar.yml``'s, 36 two-layer Q-networks (widths 64-256, relu/tanh). Variants:

- ``architecture``: the network only, under the task's hyperparameters (the zoo's);
- ``hyperparameters``: the network with the learning rate and the exploration fraction, as
  ``tpe_lunar.yml`` searches them (loguniform [1e-4, 3e-3], uniform [0.05, 0.5]). Random search
  and the controller search choices, so they get 4 values of each, spanning the same ranges.

One search (strategy x variant x search seed) trains trials of ``--trial-timesteps`` env steps on
one seed (the search seed) with the batched engine, until its finished trials spent
``--env-steps`` (running trials finish); BOHB's largest budget is one trial's env steps (its
brackets then train some trials at a third or a ninth). Each search is driven the way NNI drives
it (``ask`` -> trial -> ``tell``; BOHB's advisor by its own commands), ``--workers`` trials at a
time, each the real trial code in its own process. The best point a search found is then retrained
on ``--retrain-seeds`` (which no search used) for ``--retrain-timesteps`` env steps, and scored by
its mean greedy return over 100 episodes.

Every unit (a search, a retrain) is written to ``--out``/units/<unit>.json when it ends, so a rerun
resumes where it stopped; ``--report-only`` writes ``summary.json`` and ``report.md`` from them.

    python benchmarks/tuner_comparison.py --workers 2
    python benchmarks/tuner_comparison.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import yaml

from nni_rl_nas.files import write_json

OUT = Path(__file__).resolve().parent / "results" / "tuner_comparison"
SPACE = {"family": "mlp", "depth": 2, "widths": [64, 128, 256], "activations": ["relu", "tanh"]}
SEARCHED = {"learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.003]},
            "exploration_fraction": {"_type": "uniform", "_value": [0.05, 0.5]}}
SEARCHED_AS_CHOICES = {"learning_rate": {"_type": "choice", "_value": [0.0001, 0.0003, 0.001, 0.003]},
                       "exploration_fraction": {"_type": "choice", "_value": [0.05, 0.12, 0.25, 0.5]}}
STRATEGIES = {
    "tpe": ("RlNasNniTuner", {"algorithm": "TPE"}),
    "evolution": ("RlNasNniTuner", {"algorithm": "Evolution", "algorithm_args": {"population_size": 8}}),
    "bohb": ("RlNasBohb", {"min_budget": 1, "max_budget": 9, "eta": 3}),
    "random": ("RlNasRandom", {}),
    "policy_gradient": ("RlNasPolicyGradient", {"controller": {"samples_per_update": 3}}),
}
VARIANTS = ("architecture", "hyperparameters")


def class_args(strategy: str, variant: str, seed: int, settings: argparse.Namespace, timesteps: int) -> dict:
    name, options = STRATEGIES[strategy]
    searched = {} if variant == "architecture" else SEARCHED_AS_CHOICES if name in ("RlNasRandom",
                                                                                    "RlNasPolicyGradient") else SEARCHED
    budget = {} if name == "RlNasBohb" else {"budget": {"env_steps": settings.env_steps}}
    task = {"env": "LunarLander-v3", "algorithm": "dqn", "engine": "batched", "seed": seed, "seeds": 1,
            "total_timesteps": timesteps, "report_every": 10000, "eval_episodes": 5,
            "score": {"rule": "mean_return", "episodes": 30}}
    return {"seed": seed, **options, **budget, "space": SPACE, "task": task,
            **({"search_hyperparameters": searched} if searched else {})}


def write_config(directory: Path, name: str, args: dict) -> Path:
    config = {"trialCommand": "nni-rl-nas trial experiment.yml", "trialCodeDirectory": ".", "trialConcurrency": 1,
              "searchSpace": {}, "trainingService": {"platform": "local"},
              "tuner": {"name": name, "classArgs": args}}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "experiment.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def one_trial(config: Path, parameters: dict) -> dict:
    """A trial process, as NNI would start it, with its outputs in a folder of its own."""
    import torch

    from nni_rl_nas.trial import run_trial

    torch.set_num_threads(1)
    os.environ["NNI_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="trial-", dir=config.parent)
    return run_trial(config, parameters=parameters)


def entry(parameters: dict, result: dict) -> dict:
    point = {key: value for key, value in parameters.items() if key not in ("architecture", "baseline")}
    return {"point": point, "name": result["architecture"], "score": result["default"],
            "env_steps": result["env_steps"], "fidelity": result.get("fidelity")}


def run_search(strategy: str, variant: str, seed: int, settings: argparse.Namespace) -> dict:
    """One search until its finished trials spent ``settings.env_steps``; its trials, in finishing order."""
    name = STRATEGIES[strategy][0]
    args = class_args(strategy, variant, seed, settings, settings.trial_timesteps)
    config = write_config(settings.out / "runs" / f"{strategy}_{variant}_{seed}", name, args)
    with ProcessPoolExecutor(settings.workers) as pool:
        if name == "RlNasBohb":
            trials = drive_advisor(args, functools.partial(one_trial, config), pool, settings)
        else:
            trials = drive_strategy(name, args, functools.partial(one_trial, config), pool, settings)
    return {"strategy": strategy, "variant": variant, "seed": seed, "trials": trials,
            "env_steps": sum(trial["env_steps"] for trial in trials)}


def drive_strategy(name: str, args: dict, run, pool, settings: argparse.Namespace) -> list[dict]:
    from nni_rl_nas.strategies import STRATEGIES as STRATEGY_CLASSES
    from nni_rl_nas.strategies.driver import drive

    strategy = STRATEGY_CLASSES[name](**args)  # its budget.env_steps ends the search
    finished = drive(strategy, run, pool, settings.workers)
    return [entry(trial.parameters, trial.result) for trial in finished if trial.result is not None]


def drive_advisor(args: dict, run, pool, settings: argparse.Namespace) -> list[dict]:
    """NNI's BOHB driven by the commands NNI's manager sends it: requests for trials, each trial's
    final result and its end; it proposes until the trials' env steps reach the budget."""
    import nni
    from nni.runtime import msg_dispatcher_base
    from nni.runtime.tuner_command_channel import CommandType

    from nni_rl_nas.advisor import RlNasBohb

    # NNI's own stand-in for a dispatcher channel, which connects nowhere
    msg_dispatcher_base.dispatcher_env_vars = msg_dispatcher_base.dispatcher_env_vars._replace(
        NNI_TUNER_COMMAND_CHANNEL="ws://_unittest_")
    advisor, proposals = RlNasBohb(**args), []
    advisor.send = lambda command, data: proposals.append(nni.load(data)) if command == CommandType.NewTrialJob else None
    advisor.handle_initialize({})
    trials, running, spent = [], {}, 0
    while True:
        if spent < settings.env_steps and len(running) < settings.workers:
            advisor.handle_request_trial_jobs(settings.workers - len(running))
        while proposals and len(running) < settings.workers and spent < settings.env_steps:
            job = proposals.pop(0)
            running[pool.submit(run, job["parameters"])] = job
        if not running:
            return trials
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            job = running.pop(future)
            result = future.result()
            spent += result["env_steps"]
            trials.append(entry(job["parameters"], result))
            advisor.handle_report_metric_data({"parameter_id": job["parameter_id"], "trial_job_id": job["parameter_id"],
                                               "type": "FINAL", "sequence": 0, "value": nni.dump(result)})
            advisor.handle_trial_end({"trial_job_id": job["parameter_id"], "event": "SUCCEEDED",
                                      "hyper_params": nni.dump(job)})


def best_point(search: dict) -> dict:
    """The best-scoring point among the search's trials at its largest fidelity."""
    top = max((trial["fidelity"] or 1.0) for trial in search["trials"])
    return max((trial for trial in search["trials"] if (trial["fidelity"] or 1.0) == top),
               key=lambda trial: trial["score"])


def run_retrain(search: dict, seed: int, settings: argparse.Namespace) -> dict:
    """The search's best point trained from scratch on ``seed``, scored on 100 greedy episodes."""
    best = best_point(search)
    args = class_args("random", "architecture", seed, settings, settings.retrain_timesteps)
    args["task"]["score"]["episodes"] = 100
    point = {key: value for key, value in best["point"].items() if key in ("layer1_width", "layer1_activation",
                                                                          "layer2_width", "layer2_activation")}
    args["task"]["hyperparameters"] = {key: best["point"][key] for key in SEARCHED if key in best["point"]}
    config = write_config(settings.out / "runs" / f"retrain_{search['strategy']}_{search['variant']}_"
                                                  f"{search['seed']}_{seed}", "RlNasRandom", args)
    result = one_trial(config, point)
    return {"name": best["name"], "search_score": best["score"], "seed": seed, "score": result["default"],
            "solved": bool(result.get("solved"))}


def unit_path(settings: argparse.Namespace, unit: str) -> Path:
    return settings.out / "units" / f"{unit.replace('/', '__')}.json"


def run_all(settings: argparse.Namespace) -> None:
    """Searches first, each search's retrains after it; a unit already written is not run again."""
    for strategy in settings.strategies:
        for variant in settings.variants:
            for seed in settings.search_seeds:
                unit = f"{strategy}/{variant}/{seed}"
                path = unit_path(settings, unit)
                if not path.exists():
                    write_json(path, run_search(strategy, variant, seed, settings))
                    print(f"done {unit}", flush=True)
                search = json.loads(path.read_text())
                for retrain_seed in settings.retrain_seeds:
                    retrain = unit_path(settings, f"{unit}/retrain/{retrain_seed}")
                    if not retrain.exists():
                        write_json(retrain, run_retrain(search, retrain_seed, settings))
                        print(f"done {unit}/retrain/{retrain_seed}", flush=True)


def report(settings: argparse.Namespace) -> None:
    """summary.json and report.md from the units written so far."""
    rows, summary = [], {}
    for strategy in STRATEGIES:
        for variant in VARIANTS:
            searches = [json.loads(path.read_text()) for path in
                        sorted((settings.out / "units").glob(f"{strategy}__{variant}__*.json"))
                        if "__retrain__" not in path.name]
            retrains = [json.loads(path.read_text()) for path in
                        sorted((settings.out / "units").glob(f"{strategy}__{variant}__*__retrain__*.json"))]
            if not searches:
                continue
            scores = [retrain["score"] for retrain in retrains]
            summary.setdefault(variant, {})[strategy] = {
                "searches": len(searches), "env_steps": [search["env_steps"] for search in searches],
                "trials": [len(search["trials"]) for search in searches],
                "best": [best_point(search)["name"] for search in searches], "retrained": scores}
            spread = f"{statistics.mean(scores):.1f} +- {statistics.pstdev(scores):.1f} (n={len(scores)})" \
                if scores else "not run yet"
            rows.append(f"| {variant} | {strategy} | {len(searches)} | "
                        f"{statistics.mean(len(search['trials']) for search in searches):.0f} | {spread} |")
    write_json(settings.out / "summary.json", summary)
    table = ["| variant | strategy | searches | trials per search | best point retrained: mean greedy return |",
             "| --- | --- | --- | --- | --- |", *rows]
    (settings.out / "report.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--search-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain-seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    parser.add_argument("--env-steps", type=int, default=1_000_000, help="env-step budget of each search")
    parser.add_argument("--trial-timesteps", type=int, default=100_000, help="env steps of one search trial")
    parser.add_argument("--retrain-timesteps", type=int, default=500_000, help="env steps of one retrain")
    parser.add_argument("--workers", type=int, default=2, help="trials at a time (one per core)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    settings = parser.parse_args()
    if not settings.report_only:
        run_all(settings)
    report(settings)


if __name__ == "__main__":
    main()
