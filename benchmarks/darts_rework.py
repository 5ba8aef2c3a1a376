"""RL-DARTS's changes from the literature, each measured on MinAtar Freeway, a game outside the
encoder comparison (``minatar_encoders.py``), so that keeping or dropping one uses none of its seeds.

Every variant is ``experiment_configs/darts_minatar_ppo.yml``'s search (PPO, the macro ``darts``
space, temperature 0.2, architecture rate 0.1 falling linearly to 0, sequential selection decided
by 75%) with one change (``VARIANTS``):

- ``shipped``: none;
- ``perturbation``: ``selection: perturbation`` (Wang et al., ICLR 2021): nodes decided by the KL
  divergence of the agent's policy when an operation is removed, not by its weight;
- ``auxiliary_skip``: ``auxiliary_skip: 1.0`` (DARTS-, Chu et al., ICLR 2021): a skip outside the
  architecture weights on every shape-keeping edge, falling to 0 by the search's end;
- ``warmup``: ``arch_warmup: 0.25``: the network weights train alone for the first quarter, with
  their own optimizer (the architecture's Adam starts after it).

Per variant, ``--searches`` searches (seeds 0 on) of ``--steps`` env steps each; each derived
genotype is retrained from scratch on seeds 1..``--seeds``. IMPALA-CNN trains on the same seeds
for ``--steps`` env steps, the bar for both the supernet agent's return at the end of its search
(weights learned by an agent that does not learn say little) and the retrained genotypes'. A
genotype's parameter-free share is how many of its operations are ``relu``, ``tanh`` or
``skip_connect``: DARTS's collapse raises it.

Each search and each agent is a unit written to ``--out``/units/ when it ends (:mod:`searches`), so
an interrupted run resumes; ``--report-only`` rewrites ``summary.json`` and ``report.md``.

    python benchmarks/darts_rework.py --workers 2
    python benchmarks/darts_rework.py --report-only
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path

import yaml
from darts_encoders import IMPALA_CNN, SPACE, spec_for, train
from searches import Ready, Units, run_units, spread, write_results

SHIPPED = Path(__file__).resolve().parent.parent / "experiment_configs" / "darts_minatar_ppo.yml"
SEARCH_OPTIONS = (
    "arch_learning_rate",
    "arch_learning_rate_schedule",
    "temperature",
    "selection",
    "decided_by",
)
VARIANTS = {
    "shipped": {},
    "perturbation": {"selection": "perturbation"},
    "auxiliary_skip": {"auxiliary_skip": 1.0},
    "warmup": {"arch_warmup": 0.25},
}
PARAMETER_FREE = ("relu", "tanh", "skip_connect")


def search(game: str, steps: int, seed: int, variant: str) -> dict:
    """One search of ``variant``: its derived genotype, decisions and the supernet agent's return."""
    from nni_rl_nas.oneshot.darts import run_darts_search
    from nni_rl_nas.options import DartsOptions

    shipped = yaml.safe_load(SHIPPED.read_text())["tuner"]["classArgs"]
    options = {key: shipped[key] for key in SEARCH_OPTIONS} | VARIANTS[variant]
    spec = spec_for(SPACE, game, steps, seed)  # a report every quarter: a Freeway episode is 2,500 steps
    with tempfile.TemporaryDirectory() as folder:
        result = run_darts_search(
            spec.task,
            spec.build_space(),
            spec.build_space,
            DartsOptions(seed=seed, search_timesteps=steps, **options),
            Path(folder),
            "cpu",
        )
        curve = json.loads((Path(folder) / "darts_search.json").read_text())["curve"]
    return {**result, "options": options, "curve": [(p["env_steps"], p["default"], p["genotype"]) for p in curve]}


def parameter_free_share(genotype: str) -> float:
    operations = re.findall(r"(\w+)@\d+", genotype)  # every cell kind's operation@input
    return sum(op in PARAMETER_FREE for op in operations) / len(operations)


def ready_units(units: Units, args) -> Ready:
    todo: Ready = {}
    seeds = range(1, args.seeds + 1)
    for seed in seeds:
        name = f"impala/{seed}"
        if units.get(name) is None:
            todo[name] = (train, ("impala", IMPALA_CNN, args.game, args.steps, seed))
    for variant in args.variants:
        for search_seed in range(args.searches):
            name = f"{variant}/search/{search_seed}"
            found = units.get(name)
            if found is None:
                todo[name] = (search, (args.game, args.steps, search_seed, variant))
                continue
            for seed in seeds:
                retrain = f"{variant}/retrain/{search_seed}/{seed}"
                if units.get(retrain) is None:
                    todo[retrain] = (train, ("darts", found["derived"], args.game, args.steps, seed))
    return todo


def summarise(args) -> tuple[dict, str]:
    from nni_rl_nas.seed_statistics import paired_difference, verdict

    units = Units(args.out / "units")
    seeds = list(range(1, args.seeds + 1))
    impala = [found["score"] for seed in seeds if (found := units.get(f"impala/{seed}"))]
    summary: dict = {"game": args.game, "env_steps": args.steps, "seeds": seeds, "impala": impala, "variants": {}}
    lines = [
        f"MinAtar/{args.game}-v1, PPO, {args.steps} env steps per search and per agent; retrains on seeds "
        f"{seeds[0]}-{seeds[-1]}; IMPALA-CNN {spread(impala, 2)}",
        "",
        "| variant | search seed | supernet return at the end | genotype | parameter-free share | "
        "retrained, mean +- sd | minus IMPALA-CNN, paired 95% interval | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for variant in args.variants:
        rows = []
        for search_seed in range(args.searches):
            found = units.get(f"{variant}/search/{search_seed}")
            if found is None:
                continue
            scores = [unit["score"] for seed in seeds if (unit := units.get(f"{variant}/retrain/{search_seed}/{seed}"))]
            rows.append(
                {
                    "search_seed": search_seed,
                    "supernet_return": found["supernet_return"],
                    "genotype": found["derived"],
                    "parameter_free_share": parameter_free_share(found["derived"]),
                    "decisions": found["decisions"],
                    "scores": scores,
                }
            )
            comparison, said = "-", "-"
            if len(scores) == len(seeds) == len(impala):
                difference = paired_difference(scores, impala)
                interval = difference["ci95"]
                comparison = f"{difference['mean']:+.2f}" + (
                    f" [{interval[0]:+.2f}, {interval[1]:+.2f}]" if interval else ""
                )
                said = verdict(interval)
            lines.append(
                f"| {variant} | {search_seed} | {found['supernet_return']:.2f} | `{found['derived']}` | "
                f"{rows[-1]['parameter_free_share']:.2f} | {spread(scores, 2)} | {comparison} | {said} |"
            )
        summary["variants"][variant] = rows
        returns = [row["supernet_return"] for row in rows]
        if returns:
            lines.append(f"| {variant}, mean | | {statistics.mean(returns):.2f} | | | | | |")
    return summary, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Freeway")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--searches", type=int, default=1, help="searches per variant, seeds 0 on")
    parser.add_argument("--seeds", type=int, default=3, help="retrain seeds, 1 on")
    parser.add_argument("--steps", type=int, default=100_000, help="env steps of every search and agent")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/darts_rework"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        units = Units(args.out / "units")
        run_units(units, lambda: ready_units(units, args), args.workers)
    summary, report = summarise(args)
    write_results(args.out, summary, report)


if __name__ == "__main__":
    main()
