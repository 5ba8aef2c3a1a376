"""How ENAS's shared weights rank the landscape's networks, against training each network alone.

One unit is one ENAS search (the main job's settings, ``experiment_configs/enas_lunar.yml``, on
its space: the landscape's 64 networks) at one budget, one search seed and one variant; after the
search every one of the 64 networks is scored with the shared weights on ``--episodes`` greedy
episodes of the test block, and that scoring is compared with the landscape's truth (each
network's mean final greedy return over its 10 recorded seeds): Spearman's rank correlation,
how many of the truth's top 10 the shared weights also put in their top 10, and where the
search's derived architectures stand in the truth's order. The truth's own split-half
correlation (seeds 0-4 against 5-9) is the ceiling any scoring can be expected to reach.

A variant overrides some of the search's options (``VARIANTS``). Units are written one JSON
file each as they finish, so a stopped run continues where it was:

  python benchmarks/enas_ranking.py run --workers 2 --variants default --budgets 100000 --seeds 0 1 2
  python benchmarks/enas_ranking.py summary     # summary.json and summary.md from the units written
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml
from searches import Units

from nni_rl_nas.files import write_json
from nni_rl_nas.landscape import load_landscape
from nni_rl_nas.ranking import rank_correlation
from nni_rl_nas.seed_statistics import paired_difference

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
OUT = RESULTS / "enas_ranking"
MAIN_JOB = ROOT / "experiment_configs" / "enas_lunar.yml"
RULE = "mean_return"
TOP = 10
AVERAGED = 3  # supernets whose scores an averaged ranking takes the mean of
# the search's options each variant changes (EnasOptions fields); "default" is the main job's search
VARIANTS: dict[str, dict] = {
    "default": {},
    "per_shape": {"weight_sharing": "per_shape"},
    "per_activation": {"weight_sharing": "per_activation"},
    "eval_episodes_10": {"search_eval_episodes": 10},
    "child_steps_4000": {"child_steps": 4000},
    "child_steps_4000_per_activation": {"child_steps": 4000, "weight_sharing": "per_activation"},
}


def truth() -> tuple[dict[str, float], float]:
    """Each network's mean over the landscape's seeds, and the split-half correlation of those means."""
    landscape = load_landscape(RESULTS / "landscape_lunar")
    names = list(landscape.by_architecture)
    seeds = landscape.seeds
    first, second = seeds[: len(seeds) // 2], seeds[len(seeds) // 2 :]
    halves = [[landscape.true_score(name, RULE, half) for name in names] for half in (first, second)]
    return {name: landscape.true_score(name, RULE) for name in names}, float(rank_correlation(*halves) or 0.0)


def class_args(variant: str, budget: int, seed: int) -> dict:
    args = yaml.safe_load(MAIN_JOB.read_text())["tuner"]["classArgs"]
    return {**args, **VARIANTS[variant], "seed": seed, "search_timesteps": budget}


def run_unit(variant: str, budget: int, seed: int, episodes: int) -> dict:
    """One search, then every network scored with its shared weights."""
    import torch

    from nni_rl_nas.experiment import parse_class_args
    from nni_rl_nas.oneshot.enas import enas_search
    from nni_rl_nas.options import EnasOptions
    from nni_rl_nas.spaces import search_choices
    from nni_rl_nas.training.scoring import TEST_BLOCK, greedy_returns

    torch.set_num_threads(1)
    spec = parse_class_args(class_args(variant, budget, seed), "RlNasEnas")
    task, settings = spec.rl_task, spec.options_as(EnasOptions)
    task = dataclasses.replace(task, seed=seed)
    space = spec.build_space()
    output_dir = Path(tempfile.mkdtemp(prefix="enas-ranking-"))
    agent, search, result = enas_search(task, space, spec.build_space, settings, output_dir, "cpu")
    env = task.make_env()
    shared = {}
    for architecture in _architectures(search_choices(space)):  # each with the shared weights, as ENAS scores
        search.materialise(architecture)
        shared[space.architecture_name(architecture)] = float(greedy_returns(agent, env, episodes, TEST_BLOCK).mean())
    env.close()
    return {
        "variant": variant,
        "budget": budget,
        "seed": seed,
        "episodes": episodes,
        "search_env_steps": result["env_steps"],
        "search_wall_clock_s": result["wall_clock_s"],
        "derived": result["top_k"],
        "shared_scores": shared,
    }


def _architectures(choices: dict[str, list]) -> list[dict]:
    """Every point of a fixed-depth space, in the order of its choices."""
    points: list[dict] = [{}]
    for label, values in choices.items():
        points = [{**point, label: value} for point in points for value in values]
    return points


def unit_name(variant: str, budget: int, seed: int) -> str:
    return f"{variant}/{budget}/{seed}"


def entry_name(record: dict) -> str:
    """The summary's row of a unit: its variant at its search budget."""
    return f"{record['variant']}@{record['budget']}"


def compare(shared_scores: dict[str, float], true_scores: dict[str, float], derived: list[str]) -> dict:
    names = list(true_scores)
    shared = [shared_scores[name] for name in names]
    true = [true_scores[name] for name in names]
    true_order = sorted(names, key=lambda name: -true_scores[name])
    shared_order = sorted(names, key=lambda name: -shared_scores[name])
    return {
        "spearman": rank_correlation(shared, true),
        "top10_overlap": len(set(true_order[:TOP]) & set(shared_order[:TOP])),
        "derived_true_ranks": [true_order.index(name) + 1 for name in derived],
    }


def averaged_supernets(records: list[dict], true_scores: dict[str, float]) -> dict:
    """What averaging the shared-weight scores of AVERAGED supernets (searches on different seeds)
    would rank: the records' seeds in disjoint groups of AVERAGED, each group's mean score per
    network compared with the truth. Measured from separate searches, before building it."""
    ordered = sorted(records, key=lambda record: record["seed"])
    groups = [ordered[i : i + AVERAGED] for i in range(0, len(ordered) - AVERAGED + 1, AVERAGED)]
    result: dict = {"seed_groups": [], "spearman": [], "top10_overlap": []}
    for group in groups:
        mean = {name: float(np.mean([record["shared_scores"][name] for record in group])) for name in true_scores}
        comparison = compare(mean, true_scores, [])
        result["seed_groups"].append([record["seed"] for record in group])
        result["spearman"].append(comparison["spearman"])
        result["top10_overlap"].append(comparison["top10_overlap"])
    return result


def summary() -> dict:
    true_scores, split_half = truth()
    units = Units(OUT / "units")
    variants: dict[str, dict] = {}
    records = units.matching("*")
    for record in records:
        comparison = compare(record["shared_scores"], true_scores, record["derived"])
        entry = variants.setdefault(entry_name(record), {"spearman": [], "top10_overlap": []})
        entry["spearman"].append(comparison["spearman"])
        entry["top10_overlap"].append(comparison["top10_overlap"])
        entry.setdefault("derived_true_ranks", []).append(comparison["derived_true_ranks"])
        entry.setdefault("search_env_steps", record["search_env_steps"])
        entry.setdefault("seeds", []).append(record["seed"])
    for name, entry in variants.items():
        entry["vs_default"] = against_default(name, entry, variants)
        mine = [record for record in records if entry_name(record) == name]
        entry[f"averaged_{AVERAGED}_supernets"] = averaged_supernets(mine, true_scores)
    result = {"truth_seeds": len(load_landscape(RESULTS / "landscape_lunar").seeds), "truth_split_half": split_half}
    result["variants"] = variants
    result["default_variant"] = "default"
    write_json(OUT / "summary.json", result)
    (OUT / "summary.md").write_text(markdown(result))
    return result


def against_default(name: str, entry: dict, variants: dict) -> dict | None:
    """The variant's Spearman minus the default search's at the same budget, paired by search seed."""
    variant, budget = name.split("@")
    default = variants.get(f"default@{budget}")
    if variant == "default" or default is None:
        return None
    by_seed = dict(zip(default["seeds"], default["spearman"]))
    pairs = [(rho, by_seed[seed]) for seed, rho in zip(entry["seeds"], entry["spearman"]) if seed in by_seed]
    return paired_difference([mine for mine, _ in pairs], [theirs for _, theirs in pairs])


def markdown(result: dict) -> str:
    lines = [
        f"Truth: {result['truth_seeds']} seeds per network; its split-half Spearman (the ceiling) "
        f"{result['truth_split_half']:+.2f}.",
        "",
        "| variant @ search env steps | search seeds | Spearman with the truth | minus the default's, paired "
        "(95% CI) | top-10 overlap | derived architectures' ranks in the truth (of 64) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in sorted(result["variants"].items()):
        rho = ", ".join(f"{value:+.2f}" for value in entry["spearman"])
        mean = np.mean(entry["spearman"])
        overlap = ", ".join(str(value) for value in entry["top10_overlap"])
        ranks = "; ".join(", ".join(map(str, ranks)) for ranks in entry["derived_true_ranks"])
        versus = entry["vs_default"]
        difference = (
            f"{versus['mean']:+.2f} ({versus['ci95'][0]:+.2f}, {versus['ci95'][1]:+.2f})"
            if versus and versus["ci95"]
            else "-"
        )
        lines.append(f"| {name} | {entry['seeds']} | {rho} (mean {mean:+.2f}) | {difference} | {overlap} | {ranks} |")
    lines += [
        "",
        f"Scores averaged over {AVERAGED} supernets (searches on {AVERAGED} seeds, disjoint groups):",
        "",
        "| variant @ search env steps | seed groups | Spearman with the truth | top-10 overlap |",
        "| --- | --- | --- | --- |",
    ]
    for name, entry in sorted(result["variants"].items()):
        averaged = entry[f"averaged_{AVERAGED}_supernets"]
        if averaged["spearman"]:
            rho = ", ".join(f"{value:+.2f}" for value in averaged["spearman"])
            overlap = ", ".join(str(value) for value in averaged["top10_overlap"])
            lines.append(f"| {name} | {averaged['seed_groups']} | {rho} | {overlap} |")
    return "\n".join(lines) + "\n"


def run(settings: argparse.Namespace) -> None:
    units = Units(OUT / "units")
    jobs = [
        (variant, budget, seed)
        for variant in settings.variants
        for budget in settings.budgets
        for seed in settings.seeds
        if units.get(unit_name(variant, budget, seed)) is None
    ]
    with ProcessPoolExecutor(settings.workers) as pool:
        futures = {job: pool.submit(functools.partial(run_unit, *job, settings.episodes)) for job in jobs}
        for job, future in futures.items():
            units.ensure(unit_name(*job), future.result)
    print(json.dumps(summary(), indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the missing units, then write the summary")
    run_parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    run_parser.add_argument("--budgets", nargs="+", type=int, default=[100_000], help="search env steps")
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="search seeds")
    run_parser.add_argument("--episodes", type=int, default=20, help="greedy episodes per network, shared weights")
    run_parser.add_argument("--workers", type=int, default=2, help="units at a time (one per core)")
    commands.add_parser("summary", help="summary.json and summary.md from the units written")
    settings = parser.parse_args()
    if settings.command == "run":
        run(settings)
    else:
        print(json.dumps(summary(), indent=1))


if __name__ == "__main__":
    main()
