"""NNI's tuners against this project's strategies on LunarLander-v3 at an equal env-step budget, with
and without DQN hyperparameters searched beside the Q-network, and each search's pick against the
network a user would pick by hand.

Strategies: ``tpe`` and ``evolution`` (NNI's, through ``RlNasNniTuner``), ``bohb`` (NNI's, through
``RlNasBohb``), ``random`` (``RlNasRandom``) and ``policy_gradient`` (``RlNasPolicyGradient``).
Space: the landscape's (``benchmarks/results/landscape_lunar``), 64 two-layer Q-networks (widths
16-128, relu/tanh), so an architecture-only pick can also be judged by the landscape's 10-seed
score. Variants:

- ``architecture``: the network only, under the task's hyperparameters (the zoo's);
- ``hyperparameters``: the network with the learning rate and the exploration fraction, as
  ``tpe_lunar.yml`` searches them (loguniform [1e-4, 3e-3], uniform [0.05, 0.5]). Random search
  and the controller search choices, so they get 4 values of each, spanning the same ranges.

One search (strategy x variant x search seed) trains trials of ``--trial-timesteps`` env steps on
one seed (the search seed) with the batched engine, ``--workers`` at a time, until its finished
trials spent ``--env-steps`` (running trials finish). BOHB's largest budget is one trial's env
steps; its brackets also train trials at a third and a ninth of it. The small budgets get the
tuners' warm-ups to match: TPE models after 3 random trials (NNI's default: 20), Evolution keeps
a population of 4, the controller updates every 3 samples. Each search is driven the way NNI
drives it (``ask`` -> trial -> ``tell``; BOHB's advisor by the commands NNI's manager sends), each
trial the real trial code in a process of its own.

The best point a search found (its best score at its largest fidelity) is retrained from scratch
on ``--retrain-seeds`` (which no search used) for ``--trial-timesteps`` env steps, the seeds in
one batched trainer, each scored by its mean greedy return over 100 episodes. The zoo's
256-relu_256-relu with the zoo's hyperparameters is retrained the same way: the default a search
has to beat.

Units run in order of search seed, so a stopped run leaves every strategy with the same number of
searches. Each unit (a search, a retrain) is written to ``--out``/units/<unit>.json when it ends,
and a point retrained once is not retrained again, so a rerun resumes where it stopped;
``--report-only`` writes ``summary.json`` and ``report.md`` from what is done.

    python benchmarks/tuner_comparison.py --workers 2
    python benchmarks/tuner_comparison.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import statistics
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from searches import Units, one_trial, spread, write_config

from nni_rl_nas.files import write_json

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "tuner_comparison"
LANDSCAPE = RESULTS / "landscape_lunar"
SPACE = {"family": "mlp", "depth": 2, "widths": [16, 32, 64, 128], "activations": ["relu", "tanh"]}
ARCHITECTURE_LABELS = ("layer1_width", "layer1_activation", "layer2_width", "layer2_activation")
DEFAULT = {"layer1_width": 256, "layer1_activation": "relu", "layer2_width": 256, "layer2_activation": "relu"}
SEARCHED = {
    "learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.003]},
    "exploration_fraction": {"_type": "uniform", "_value": [0.05, 0.5]},
}
SEARCHED_AS_CHOICES = {
    "learning_rate": {"_type": "choice", "_value": [0.0001, 0.0003, 0.001, 0.003]},
    "exploration_fraction": {"_type": "choice", "_value": [0.05, 0.12, 0.25, 0.5]},
}
STRATEGIES = {
    "tpe": ("RlNasNniTuner", {"algorithm": "TPE", "algorithm_args": {"tpe_args": {"n_startup_jobs": 3}}}),
    "evolution": ("RlNasNniTuner", {"algorithm": "Evolution", "algorithm_args": {"population_size": 4}}),
    "bohb": ("RlNasBohb", {"min_budget": 1, "max_budget": 9, "eta": 3}),
    "random": ("RlNasRandom", {}),
    "policy_gradient": ("RlNasPolicyGradient", {"controller": {"samples_per_update": 3}}),
}
VARIANTS = ("architecture", "hyperparameters")


def class_args(
    strategy: str,
    variant: str,
    seed: int,
    seeds: int,
    timesteps: int,
    settings: argparse.Namespace,
    space: dict = SPACE,
) -> dict:
    name, options = STRATEGIES[strategy]
    searched = (
        {}
        if variant == "architecture"
        else SEARCHED_AS_CHOICES
        if name in ("RlNasRandom", "RlNasPolicyGradient")
        else SEARCHED
    )
    budget = {} if name == "RlNasBohb" else {"budget": {"env_steps": settings.env_steps}}
    task = {
        "env": "LunarLander-v3",
        "algorithm": "dqn",
        "engine": "batched",
        "seed": seed,
        "seeds": seeds,
        "total_timesteps": timesteps,
        "report_every": 10000,
        "eval_episodes": 5,
        "score": {"rule": "mean_return", "episodes": 30},
    }
    return {
        "seed": seed,
        **options,
        **budget,
        "space": space,
        "task": task,
        **({"search_hyperparameters": searched} if searched else {}),
    }


def entry(parameters: dict, result: dict) -> dict:
    point = {key: value for key, value in parameters.items() if key not in ("architecture", "baseline")}
    return {
        "point": point,
        "name": result["architecture"],
        "score": result["default"],
        "env_steps": result["env_steps"],
        "fidelity": result.get("fidelity"),
    }


def run_search(strategy: str, variant: str, seed: int, settings: argparse.Namespace) -> dict:
    """One search until its finished trials spent ``settings.env_steps``; its trials, in finishing order."""
    name = STRATEGIES[strategy][0]
    args = class_args(strategy, variant, seed, 1, settings.trial_timesteps, settings)
    config = write_config(settings.out / "runs" / f"{strategy}_{variant}_{seed}", name, args)
    with ProcessPoolExecutor(settings.workers) as pool:
        if name == "RlNasBohb":
            trials = drive_advisor(args, functools.partial(one_trial, config), pool, settings)
        else:
            trials = drive_strategy(name, args, functools.partial(one_trial, config), pool, settings)
    return {
        "strategy": strategy,
        "variant": variant,
        "seed": seed,
        "trials": trials,
        "env_steps": sum(trial["env_steps"] for trial in trials),
    }


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
        NNI_TUNER_COMMAND_CHANNEL="ws://_unittest_"
    )
    advisor, proposals = RlNasBohb(**args), []
    advisor.send = lambda command, data: (
        proposals.append(nni.load(data)) if command == CommandType.NewTrialJob else None
    )
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
            advisor.handle_report_metric_data(
                {
                    "parameter_id": job["parameter_id"],
                    "trial_job_id": job["parameter_id"],
                    "type": "FINAL",
                    "sequence": 0,
                    "value": nni.dump(result),
                }
            )
            advisor.handle_trial_end(
                {"trial_job_id": job["parameter_id"], "event": "SUCCEEDED", "hyper_params": nni.dump(job)}
            )


def best_trial(search: dict) -> dict:
    """The best-scoring trial among the search's trials at its largest fidelity."""
    top = max((trial["fidelity"] or 1.0) for trial in search["trials"])
    return max(
        (trial for trial in search["trials"] if (trial["fidelity"] or 1.0) == top), key=lambda trial: trial["score"]
    )


def retrain_unit(name: str) -> str:
    """A point's retrain unit, by a digest of its name (which holds its hyperparameters' values)."""
    return f"retrain/{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def run_retrain(name: str, point: dict, settings: argparse.Namespace) -> dict:
    """``point`` trained from scratch on the retrain seeds, in one batched trainer; each seed scored on
    100 greedy episodes."""
    architecture = {label: point[label] for label in ARCHITECTURE_LABELS}
    widths = sorted({architecture["layer1_width"], architecture["layer2_width"]})
    args = class_args(
        "random",
        "architecture",
        settings.retrain_seeds[0],
        len(settings.retrain_seeds),
        settings.trial_timesteps,
        settings,
        space={**SPACE, "widths": widths},
    )
    args["task"]["score"]["episodes"] = 100
    args["task"]["hyperparameters"] = {key: point[key] for key in SEARCHED if key in point}
    config = write_config(settings.out / "runs" / retrain_unit(name).replace("/", "_"), "RlNasRandom", args)
    result = one_trial(config, architecture)
    return {
        "name": name,
        "point": point,
        "seeds": settings.retrain_seeds,
        "scores": result["seed_scores"],
        "env_steps": result["env_steps"],
    }


def run_all(settings: argparse.Namespace) -> None:
    """The default's retrain, then per search seed every search, each search's retrain after it."""
    units = Units(settings.out / "units")
    units.ensure("default", lambda: run_retrain("256-relu_256-relu (zoo default)", DEFAULT, settings))
    for seed in settings.search_seeds:
        for strategy in settings.strategies:
            for variant in settings.variants:
                search = units.ensure(
                    f"{strategy}/{variant}/{seed}",
                    lambda strategy=strategy, variant=variant, seed=seed: run_search(strategy, variant, seed, settings),
                )
                best = best_trial(search)
                units.ensure(
                    retrain_unit(best["name"]), lambda best=best: run_retrain(best["name"], best["point"], settings)
                )


def report(settings: argparse.Namespace) -> None:
    """summary.json and report.md from the units written so far."""
    from nni_rl_nas.landscape import load_landscape

    landscape, units = load_landscape(LANDSCAPE), Units(settings.out / "units")
    default = (units.get("default") or {"scores": []})["scores"]
    rows, picks_rows, pooled = [], [], {variant: [] for variant in VARIANTS}
    summary = {"default": {"name": "256-relu_256-relu", "retrained": default}, "searches": {}}
    for variant in VARIANTS:
        for strategy in STRATEGIES:
            searches = units.matching(f"{strategy}__{variant}__*")
            if not searches:
                continue
            picks, retrained, truths = [], [], []
            for search in searches:
                best = best_trial(search)
                scores = (units.get(retrain_unit(best["name"])) or {"scores": []})["scores"]
                architecture = best["name"].split(" | ")[0]
                truth = landscape.true_score(architecture, "mean_return") if variant == "architecture" else None
                picks.append(
                    {
                        "seed": search["seed"],
                        "name": best["name"],
                        "search_score": best["score"],
                        "trials": len(search["trials"]),
                        "env_steps": search["env_steps"],
                        "retrained": scores,
                        "landscape_score": truth,
                    }
                )
                retrained.append(statistics.mean(scores)) if scores else None
                truths.append(truth) if truth is not None else None
                picks_rows.append(pick_row(variant, strategy, picks[-1], best["point"]))
            summary["searches"].setdefault(variant, {})[strategy] = picks
            pooled[variant] += retrained
            beats = sum(score > statistics.mean(default) for score in retrained) if default else None
            rows.append(
                f"| {variant} | {strategy} | {len(searches)} | "
                f"{statistics.mean(pick['trials'] for pick in picks):.1f} | "
                f"{statistics.mean(pick['env_steps'] for pick in picks) / 1e3:,.0f}k | {spread(retrained)} | "
                f"{'-' if beats is None else f'{beats}/{len(retrained)}'} | {spread(truths)} |"
            )
    write_json(settings.out / "summary.json", summary)
    table = [
        f"The zoo's default 256-relu_256-relu retrained on seeds {settings.retrain_seeds}: {spread(default)}",
        "",
        "| variant | strategy | searches | trials per search | env steps per search | pick retrained: mean "
        "over searches of its 3-seed mean | picks above the default's mean | pick's landscape score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Every strategy's picks together, each by its 3-seed retrained mean: "
        + "; ".join(f"{variant} {spread(scores)}" for variant, scores in pooled.items()),
        "",
        "Every search's pick:",
        "",
        "| variant | strategy | search seed | pick | its score in the search | retrained | mean | landscape score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *picks_rows,
    ]
    (settings.out / "report.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


def pick_row(variant: str, strategy: str, pick: dict, point: dict) -> str:
    """One search's pick (``point`` its searched values) as a row of the report's per-search table."""
    scores = pick["retrained"]
    truth = "-" if pick["landscape_score"] is None else f"{pick['landscape_score']:.1f}"
    architecture = pick["name"].split(" | ")[0]
    name = ", ".join([architecture, *(f"{key} {point[key]:.2g}" for key in SEARCHED if key in point)])
    return (
        f"| {variant} | {strategy} | {pick['seed']} | {name} | {pick['search_score']:.1f} | "
        f"{', '.join(f'{score:.1f}' for score in scores) or '-'} | "
        f"{f'{statistics.mean(scores):.1f}' if scores else '-'} | {truth} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--search-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain-seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    parser.add_argument("--env-steps", type=int, default=600_000, help="env-step budget of each search")
    parser.add_argument(
        "--trial-timesteps", type=int, default=100_000, help="env steps of one search trial and of one retrained agent"
    )
    parser.add_argument("--workers", type=int, default=2, help="trials at a time (one per core)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    settings = parser.parse_args()
    first = settings.retrain_seeds[0]
    if settings.retrain_seeds != list(range(first, first + len(settings.retrain_seeds))):
        parser.error(
            f"--retrain-seeds {settings.retrain_seeds}: one batched trainer takes consecutive seeds; "
            f"fix: e.g. --retrain-seeds {first} {first + 1} {first + 2}"
        )
    if not settings.report_only:
        run_all(settings)
    report(settings)


if __name__ == "__main__":
    main()
