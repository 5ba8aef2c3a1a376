"""RL-DARTS against the encoders a user would pick by hand, and against random search, on MinAtar with PPO.

Per game (``--games``; the search settings were chosen on Seaquest, which is not one of them):

- **DARTS**: one search (search seed 0) of ``--search-steps`` env steps: PPO trains an agent whose
  encoder is the supernet of the shipped ``darts`` space (:func:`run_darts_search`); the genotype it
  derives (by ``--selection``: ``sequential`` decides node by node during the search, ``weights``
  discretises the weights at its end; each selection's units keep names of their own, and the
  report shows both where both ran) is retrained from scratch on seeds 1..``--seeds``.
- **random search at equal total compute**: ``--random-genotypes`` genotypes of the same space
  (generator seed 0), each trained on seed 0 for the agent budget; the best is retrained on seeds
  1..``--seeds``. Equal compute holds when DARTS's search costs at most that many agent trainings
  (the measured cost ratio is printed beside it).
- **IMPALA-CNN** (``c16b2_c32b2_c32b2`` of the ``impala`` space) on seeds 1..``--seeds``.
- **NatureCNN adapted to 10x10 frames** (the ``stages`` space's ``c32k3_c64k3s2_c64k3_f512``: NatureCNN's
  32, 64, 64 channels and 512 units, 3x3 kernels padded, strides 1, 2, 1) on seeds 1..``--seeds``.
- **the ablation** (first game only): the genotypes the search would have derived at
  ``--ablation`` fractions of its env steps, each retrained on seeds 1..``--seeds``: are cells
  discretised later in the search better, as RL-DARTS reports?
- **the search's cost**: PPO env steps with the supernet against the derived encoder, alternating
  in one process (``--cost-steps`` env steps, 3 times each); the search costs that ratio times
  ``--search-steps`` over the agent budget, in agent trainings.

Every agent is scored by its mean greedy return over 20 episodes at the end of training. Each unit
of work (a search, an agent, a timing) is written to ``--out``/units/<unit>.json when it ends, so
an interrupted run resumes where it stopped; ``--workers`` processes (one torch thread each) take
units in dependency order. ``summary.json`` and ``report.md`` are rewritten from the units at the end.

    python benchmarks/darts_encoders.py --workers 2
    python benchmarks/darts_encoders.py --report-only
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from searches import Ready, Units, run_units, write_results

SPACE = {"family": "darts", "wiring": "macro", "channels": [16, 32, 32], "nodes": 3, "normal_cells": 2}
IMPALA = {"family": "impala", "channels": [16, 32], "blocks": [2]}
IMPALA_CNN = "c16b2_c32b2_c32b2"
NATURE = "NatureCNN adapted to 10x10"
STAGES = {"family": "stages"}
NATURE_CNN = "c32k3_c64k3s2_c64k3_f512"  # the stages space's point (nni_rl_nas/spaces/stages.py)
ENCODERS = ("darts", "impala", "random", "nature")


def spec_for(space: dict, game: str, steps: int, seed: int, report_every: int | None = None, algorithm: str = "ppo"):
    from nni_rl_nas.experiment import parse_class_args

    return parse_class_args(
        {
            "space": space,
            "task": {
                "env": f"MinAtar/{game}-v1",
                "algorithm": algorithm,
                "total_timesteps": steps,
                "seed": seed,
                "seeds": 1,
                "report_every": report_every or steps // 4,
                "eval_episodes": 5,
                "score": {"rule": "mean_return", "episodes": 20},
                **({"hyperparameters": {"train_freq": 4}} if algorithm == "dqn" else {}),
            },
        }
    )  # as darts_minatar_dqn.yml


def train(encoder: str, architecture: str, game: str, steps: int, seed: int) -> dict:
    """One agent of one encoder: its score, wall-clock and learning curve."""
    from nni_rl_nas.algorithms import NetworkFactory
    from nni_rl_nas.training.seeds import train_over_seeds

    spec = spec_for({"impala": IMPALA, "nature": STAGES}.get(encoder, SPACE), game, steps, seed)
    built = spec.build_space()
    factory = NetworkFactory(built, built.parse_architecture_name(NATURE_CNN if encoder == "nature" else architecture))
    started = time.monotonic()
    fields, curve, _ = train_over_seeds(spec.task, factory, "cpu")
    return {
        "architecture": architecture,
        "seed": seed,
        "score": fields["default"],
        "wall_clock_s": round(time.monotonic() - started, 1),
        "parameters": fields["parameters"],
        "curve": [(point["env_steps"], point["default"]) for point in curve],
    }


def search(
    game: str,
    steps: int,
    search_steps: int,
    arch_lr: float,
    temperature: float,
    schedule: str,
    selection: str,
    decided_by: float,
    algorithm: str = "ppo",
) -> dict:
    from nni_rl_nas.oneshot.darts import run_darts_search
    from nni_rl_nas.options import DartsOptions

    spec = spec_for(SPACE, game, steps, 0, report_every=search_steps // 20, algorithm=algorithm)
    with tempfile.TemporaryDirectory() as folder:
        result = run_darts_search(
            spec.task,
            spec.build_space(),
            spec.build_space,
            DartsOptions(
                search_timesteps=search_steps,
                arch_learning_rate=arch_lr,
                temperature=temperature,
                arch_learning_rate_schedule=schedule,
                selection=selection,
                decided_by=decided_by,
            ),
            Path(folder),
            "cpu",
        )
        record = json.loads((Path(folder) / "darts_search.json").read_text())
    return {**result, "curve": record["curve"], "operation_weights": record["operation_weights"]}


def random_genotype(game: str, index: int) -> str:
    import numpy as np

    from nni_rl_nas.spaces import search_choices

    space = spec_for(SPACE, game, 1000, 0).build_space()
    rng = np.random.default_rng([0, index])
    choices = search_choices(space)
    return space.architecture_name({label: values[rng.integers(len(values))] for label, values in choices.items()})


def step_costs(game: str, genotype: str, steps: int, repeats: int) -> dict:
    """Seconds per PPO env step with the supernet encoder and with ``genotype``'s, alternating in
    this process, ``repeats`` times each."""
    from nni_rl_nas.algorithms import NetworkFactory, build_agent
    from nni_rl_nas.oneshot.darts import SupernetFactory, alternate_updates
    from nni_rl_nas.options import DartsOptions

    spec = spec_for(SPACE, game, steps, 0)
    space = spec.build_space()
    supernet, derived = [], []
    for _ in range(repeats):
        agent = build_agent(spec.task, SupernetFactory(spec.build_space), "cpu")
        alternate_updates(agent, "ppo", DartsOptions())
        started = time.perf_counter()
        agent.learn(steps)
        supernet.append((time.perf_counter() - started) / agent.num_timesteps)
        agent = build_agent(spec.task, NetworkFactory(space, space.parse_architecture_name(genotype)), "cpu")
        started = time.perf_counter()
        agent.learn(steps)
        derived.append((time.perf_counter() - started) / agent.num_timesteps)
    return {
        "supernet_s_per_step": supernet,
        "derived_s_per_step": derived,
        "ratio": statistics.median(supernet) / statistics.median(derived),
    }


def genotype_at(search_unit: dict, fraction: float) -> str:
    """The genotype the search would have derived after ``fraction`` of its env steps."""
    wanted = fraction * search_unit["env_steps"]
    return min(search_unit["curve"], key=lambda point: abs(point["env_steps"] - wanted))["genotype"]


SELECTIONS = ("weights", "sequential")


def darts_units(selection: str) -> dict[str, str]:
    """Names of the units that depend on a DARTS search, per selection: discretising the weights
    at the end keeps the plain names its runs were first recorded under."""
    suffix = "" if selection == "weights" else f"_{selection}"
    return {
        "search": "search" + suffix,
        "retrain": "darts" + suffix,
        "ablation": "ablation" + suffix,
        "cost": "cost" + suffix,
        "dqn_search": "dqn_search" + suffix,
    }


def ready_units(units: Units, args) -> Ready:
    """Units whose inputs exist and which are not done yet: name -> (function, arguments)."""
    todo: Ready = {}

    def want(name: str, call: tuple) -> None:
        if units.get(name) is None:
            function, *arguments = call
            todo[name] = (globals()[function], tuple(arguments))

    seeds = range(1, args.seeds + 1)
    darts = darts_units(args.selection)
    settings = (args.arch_lr, args.temperature, args.schedule, args.selection, args.decided_by)
    for game in args.games:  # the searches first: the retrains of what they derive wait for them
        want(f"{game}/{darts['search']}", ("search", game, args.steps, args.search_steps, *settings))
    for game in args.games:
        for index in range(args.random_genotypes):
            want(
                f"{game}/random_search/{index}", ("train", "random", random_genotype(game, index), game, args.steps, 0)
            )
        for seed in seeds:
            want(f"{game}/impala/{seed}", ("train", "impala", IMPALA_CNN, game, args.steps, seed))
            want(f"{game}/nature/{seed}", ("train", "nature", NATURE, game, args.steps, seed))
        found = units.get(f"{game}/{darts['search']}")
        if found:
            for seed in seeds:
                want(f"{game}/{darts['retrain']}/{seed}", ("train", "darts", found["derived"], game, args.steps, seed))
            if game == args.games[0]:
                for fraction in args.ablation:
                    for seed in seeds:
                        want(
                            f"{game}/{darts['ablation']}_{fraction:g}/{seed}",
                            ("train", "darts", genotype_at(found, fraction), game, args.steps, seed),
                        )
            want(f"{game}/{darts['cost']}", ("step_costs", game, found["derived"], args.cost_steps, 3))
        tried = [units.get(f"{game}/random_search/{index}") for index in range(args.random_genotypes)]
        if all(tried):
            pick = max(tried, key=lambda run: run["score"])["architecture"]
            for seed in seeds:
                want(f"{game}/random/{seed}", ("train", "random", pick, game, args.steps, seed))
    # darts_minatar_dqn.yml's search, for its entropy: the same settings with DQN's TD loss
    want(
        f"{args.games[0]}/{darts['dqn_search']}",
        ("search", args.games[0], args.steps, args.search_steps, *settings, "dqn"),
    )
    return todo


def run(args) -> None:
    units = Units(args.out / "units")
    run_units(units, lambda: ready_units(units, args), args.workers)


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} +- {deviation:.2f} (n={len(values)})"


def summarise(args) -> tuple[dict, str]:
    """``summary.json``'s content and the report's markdown, from the units done so far: ``darts``
    is ``--selection``'s, and the other selection's rows are shown beside it where its units exist."""
    units = Units(args.out / "units")
    seeds = range(1, args.seeds + 1)
    darts = darts_units(args.selection)
    summary: dict = {
        "games": {},
        "settings": {
            "space": SPACE,
            "agent_env_steps": args.steps,
            "search_env_steps": args.search_steps,
            "arch_learning_rate": args.arch_lr,
            "temperature": args.temperature,
            "arch_learning_rate_schedule": args.schedule,
            "selection": args.selection,
            "decided_by": args.decided_by,
            "seeds": list(seeds),
            "random_genotypes": args.random_genotypes,
        },
        "other_selections": {},
    }
    others = [selection for selection in SELECTIONS if selection != args.selection]

    def scores_of(game: str, unit: str) -> list[float]:
        return [u["score"] for u in (units.get(f"{game}/{unit}/{s}") for s in seeds) if u]

    lines, ratios, entropies = [], [], []
    for game in args.games:
        scores = {encoder: scores_of(game, darts["retrain"] if encoder == "darts" else encoder) for encoder in ENCODERS}
        summary["games"][game] = scores
        lines += [
            f"\n## MinAtar/{game}-v1, PPO, {args.steps} env steps per agent, seeds {list(seeds)}",
            "| encoder | mean greedy return (20 episodes) over seeds | per seed | parameters |",
            "|---|---|---|---|",
        ]
        rows = [(darts["retrain"], f"DARTS-derived ({args.selection} selection)", scores["darts"])]
        for selection in others:
            unit = darts_units(selection)["retrain"]
            values = scores_of(game, unit)
            if values:
                summary["other_selections"].setdefault(selection, {})[game] = values
                rows.append((unit, f"DARTS-derived ({selection} selection)", values))
        rows += [
            (encoder, label, scores[encoder])
            for encoder, label in zip(ENCODERS[1:], ("IMPALA-CNN", "random search's pick", NATURE))
        ]
        for unit, label, values in rows:
            first = units.get(f"{game}/{unit}/1")
            lines.append(
                f"| {label} | {spread(values)} | {[round(v, 2) for v in values]} | "
                f"{first['parameters'] if first else '-'} |"
            )
        for selection in (args.selection, *others):
            found = units.get(f"{game}/{darts_units(selection)['search']}")
            if not found:
                continue
            if selection == args.selection:
                entropies.append(found["entropy_ratio"])
            decisions = "; decided " + ", ".join(f"{d['node']} at {d['env_steps']}" for d in found.get("decisions", []))
            lines.append(
                f"\nDARTS search ({selection} selection): {found['env_steps']} env steps, "
                f"{found['wall_clock_s']:.0f} s; final mean edge entropy {found['arch_entropy']:.3f} = "
                f"{found['entropy_ratio']:.2f} x log({round(math.exp(found['max_entropy']))}); genotype unchanged "
                f"since {found['genotype_settled_at']} env steps{decisions if found.get('decisions') else ''}; "
                f"supernet greedy return {found['supernet_return']:.2f}; derived `{found['derived']}`"
            )
        found, cost = units.get(f"{game}/{darts['search']}"), units.get(f"{game}/{darts['cost']}")
        if cost and found:
            search_cost = cost["ratio"] * found["env_steps"] / args.steps
            ratios.append(search_cost)
            lines.append(
                f"search cost ({args.selection} selection): a supernet PPO env step costs {cost['ratio']:.2f}x "
                f"a derived agent's (medians of 3 alternating runs of {args.cost_steps} steps: "
                f"{1e3 * statistics.median(cost['supernet_s_per_step']):.2f} vs "
                f"{1e3 * statistics.median(cost['derived_s_per_step']):.2f} ms), so the search costs "
                f"{search_cost:.2f}x one agent's training; random search's search trained {args.random_genotypes} "
                f"agents, {'at least as much' if args.random_genotypes >= search_cost else 'less'} compute"
            )
        tried = [units.get(f"{game}/random_search/{i}") for i in range(args.random_genotypes)]
        if all(tried):
            lines.append(f"random search's seed-0 scores: {[round(run['score'], 2) for run in tried]}")
        if game == args.games[0] and found:
            lines.append(
                f"\nAblation ({args.selection} selection): the genotype discretised at a fraction of the "
                "search, retrained on the same seeds"
            )
            lines.append("| fraction of the search | genotype | mean greedy return |\n|---|---|---|")
            ablation = {}
            for fraction in args.ablation + [1.0]:
                unit = darts["retrain"] if fraction == 1.0 else f"{darts['ablation']}_{fraction:g}"
                ablation[f"{fraction:g}"] = scores_of(game, unit)
                lines.append(
                    f"| {fraction:g} | `{genotype_at(found, fraction)}` | {spread(ablation[f'{fraction:g}'])} |"
                )
            summary["ablation"] = {"game": game, "selection": args.selection, "scores": ablation}
    dqn = units.get(f"{args.games[0]}/{darts['dqn_search']}")
    if dqn:
        entropies.append(dqn["entropy_ratio"])
        summary["dqn_search"] = {
            key: dqn[key]
            for key in (
                "derived",
                "entropy_ratio",
                "genotype_settled_at",
                "env_steps",
                "wall_clock_s",
                "supernet_return",
            )
        }
        lines.append(
            f"\nDQN search ({args.games[0]}, darts_minatar_dqn.yml's settings, {args.selection} selection): "
            f"{dqn['env_steps']} env steps, {dqn['wall_clock_s']:.0f} s, final entropy "
            f"{dqn['entropy_ratio']:.2f} x log(ops), genotype unchanged since {dqn['genotype_settled_at']} env "
            f"steps, derived `{dqn['derived']}`"
        )
    summary["search_cost_ratio"] = max(ratios) if ratios else None
    summary["final_entropy_ratio"] = max(entropies) if entropies else None
    return summary, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["Breakout", "SpaceInvaders", "Asterix"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps of every agent")
    parser.add_argument("--search-steps", type=int, default=100_000)
    parser.add_argument("--arch-lr", type=float, default=0.1, help="Adam's rate on the architecture weights")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--schedule", default="linear", help="the architecture learning rate's schedule")
    parser.add_argument(
        "--selection",
        default="sequential",
        choices=SELECTIONS,
        help="how the search derives its genotype (DartsOptions.selection)",
    )
    parser.add_argument("--decided-by", type=float, default=0.75, help="sequential selection's last decision")
    parser.add_argument("--random-genotypes", type=int, default=3)
    parser.add_argument("--ablation", type=float, nargs="*", default=[0.25, 0.5])
    parser.add_argument("--cost-steps", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/darts_minatar"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        run(args)
    summary, report = summarise(args)
    write_results(args.out, summary, report)
    print(f"\nsearch_cost_ratio {summary['search_cost_ratio']}, final_entropy_ratio {summary['final_entropy_ratio']}")


if __name__ == "__main__":
    main()
