"""The comparison that says whether a search beats the encoders people pick by hand on MinAtar.

Every encoder is an architecture of the ``stages`` space (the hand designs exactly: the MinAtar
network, NatureCNN-10x10, IMPALA-CNN; see ``nni_rl_nas/spaces/stages.py``), trained by PPO with the
package's MinAtar settings for ``--steps`` env steps on each of the test seeds (``--first-test-seed``
on, ``--test-seeds`` of them), which no search uses: searches train on seeds from 0. A pick (of a
multi-trial search, or RL-DARTS's) is trained on the same seeds. Each agent is scored by its mean
greedy return over 20 episodes at the end of training.

The multi-trial search (row ``search``, ``--searches``) is ``experiment_configs/tpe_minatar_ppo.yml``
at full size: NNI's TPE over the ``stages`` space, the finalists protocol of racing (one search seed
per architecture, the best three raced on search seeds 0-2), the hand designs as baselines paired
with them on the same search seeds, agents of ``--steps`` env steps and a budget of
``--search-agents`` agents' env steps, baselines and finalists included. It is driven the way NNI
drives it (:func:`nni_rl_nas.strategies.driver.drive`), ``--workers`` trials at a time. Its answer
is trained on the test seeds like the hand designs (the config's own verdict trials are left to
the benchmark).

RL-DARTS (row ``darts``, ``--darts``) is ``experiment_configs/darts_minatar_ppo.yml`` at full size,
driven the same way: ``--darts-searches`` searches (seeds 0 on), each a supernet agent of
``--steps`` env steps deriving one genotype of the ``darts`` space, each genotype retrained on
search seeds 0-2; the best mean there is its answer. A supernet env step costs about two of a
derived agent's (``benchmarks/results/darts_minatar``), so 6 searches and their 18 retrains cost
about what the TPE search's 30 agents do. ``--pick GAME ROW ARCHITECTURE`` adds a pick found
elsewhere (ROW ``search`` or ``darts``).

For each game, the report gives every encoder's scores, parameters and env steps per second, and
the paired bootstrap interval (95%, over the test seeds) of each encoder minus the best hand design
of that game, with the verdict it supports.

Each agent is a unit of work written to ``--out``/units/ when it ends (:mod:`searches`), so an
interrupted run resumes. Units run seed by seed (every game and encoder on the first test seed,
then the next), so a partial run is balanced; ``--report-only`` rewrites ``summary.json`` and
``report.md`` from what is done.

    python benchmarks/minatar_encoders.py --workers 2
    python benchmarks/minatar_encoders.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from searches import Ready, Units, one_trial, run_units, spread, write_config, write_results

CONFIGS = Path(__file__).resolve().parent.parent / "experiment_configs"
SEARCH_CONFIG, DARTS_CONFIG = CONFIGS / "tpe_minatar_ppo.yml", CONFIGS / "darts_minatar_ppo.yml"

GAMES = ("Breakout", "SpaceInvaders", "Asterix")
HAND_DESIGNS = {  # summary.json's keys -> the stages space's titles
    "minatar": "MinAtar network",
    "nature": "NatureCNN-10x10",
    "impala": "IMPALA-CNN",
}
PICKS = ("search", "darts")
SCORE = {"rule": "mean_return", "episodes": 20}
STAGES = {"family": "stages"}


DARTS_SPACE = yaml.safe_load(DARTS_CONFIG.read_text())["tuner"]["classArgs"]["space"]  # its picks are named in it


def space_of(row: str) -> dict:
    return DARTS_SPACE if row == "darts" else STAGES


def task_spec(game: str, steps: int, seed: int, space: dict):
    from nni_rl_nas.experiment import parse_class_args

    return parse_class_args(
        {
            "space": space,
            "task": {
                "env": f"MinAtar/{game}-v1",
                "algorithm": "ppo",
                "total_timesteps": steps,
                "seed": seed,
                "seeds": 1,
                "report_every": steps // 4,
                "eval_episodes": 5,
                "score": SCORE,
            },
        }
    )


def hand_design(row: str) -> str:
    from nni_rl_nas.spaces.stages import HAND_DESIGNS as NAMED

    return NAMED[HAND_DESIGNS[row]]


def train(architecture: str, game: str, steps: int, seed: int, space: dict) -> dict:
    """One PPO agent whose encoder is ``architecture`` of ``space``: its score, size, speed and learning curve."""
    from nni_rl_nas.algorithms import NetworkFactory
    from nni_rl_nas.training.seeds import train_over_seeds

    spec = task_spec(game, steps, seed, space)
    space = spec.build_space()
    started = time.monotonic()
    fields, curve, _ = train_over_seeds(
        spec.task, NetworkFactory(space, space.parse_architecture_name(architecture)), "cpu"
    )
    seconds = time.monotonic() - started
    return {
        "architecture": architecture,
        "seed": seed,
        "score": fields["default"],
        "wall_clock_s": round(seconds, 1),
        "env_steps_per_s": round(steps / seconds, 1),
        "parameters": fields["parameters"],
        "curve": [(point["env_steps"], point["default"]) for point in curve],
    }


def shipped_class_args(config: Path, game: str, args) -> dict:
    """A shipped config's ``classArgs`` on ``game``, its agents of ``--steps`` env steps."""
    class_args = yaml.safe_load(config.read_text())["tuner"]["classArgs"]
    class_args["task"].update(env=f"MinAtar/{game}-v1", total_timesteps=args.steps, report_every=args.steps // 4)
    return class_args


def tpe_search(game: str, args) -> tuple[str, dict]:
    """tpe_minatar_ppo.yml at full size: a budget of ``--search-agents`` agents' env steps; its
    verdict trials are left to the benchmark."""
    class_args = shipped_class_args(SEARCH_CONFIG, game, args)
    class_args["budget"] = {"env_steps": args.search_agents * args.steps}
    class_args["verdict"] = {"test_seeds": 0}
    return "RlNasNniTuner", class_args


def darts_search(game: str, args) -> tuple[str, dict]:
    """darts_minatar_ppo.yml at full size: ``--darts-searches`` searches (seeds 0 on) of one agent's
    env steps each, every derived genotype retrained on the config's search seeds (0-2); the one
    with the best mean there is the answer."""
    class_args = shipped_class_args(DARTS_CONFIG, game, args)
    class_args.update(searches=args.darts_searches, search_timesteps=args.steps)
    return "RlNasDarts", class_args


SEARCHES = {"search": tpe_search, "darts": darts_search}  # row -> the search whose answer fills it
TRIAL_FIELDS = ("architecture", "derived", "train_seeds", "baseline", "supernet_return", "env_steps", "wall_clock_s")


def run_search(row: str, game: str, args) -> dict:
    """One search on ``game``: its answer, its race, and every trial it ran."""
    from nni_rl_nas.strategies import STRATEGIES
    from nni_rl_nas.strategies.driver import drive

    name, class_args = SEARCHES[row](game, args)
    strategy = STRATEGIES[name](**class_args)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(args.workers) as pool:
        config = write_config(Path(folder), name, class_args)  # the trials' outputs go beside it
        finished = drive(strategy, functools.partial(one_trial, config), pool, args.workers)
    trials = [
        {
            # a search trial's score is NaN: it trains a supernet, not an architecture
            **({} if math.isnan(trial.result["default"]) else {"score": trial.result["default"]}),
            **{key: trial.result[key] for key in TRIAL_FIELDS if key in trial.result},
        }
        if trial.result
        else {"parameters": trial.parameters, "error": trial.error}
        for trial in finished
    ]
    return {
        "answer": strategy.race.answer,
        "race": strategy.race.summary(),
        "class_args": class_args,
        "trials": trials,
        "env_steps": sum(trial.get("env_steps", 0) for trial in trials),
        "wall_clock_s": round(time.monotonic() - started, 1),
    }


def rows_of(args, units: Units) -> dict[str, dict[str, str]]:
    """game -> row -> architecture: the hand designs, the searches' answers, and the picks given."""
    rows = {game: {row: hand_design(row) for row in HAND_DESIGNS} for game in args.games}
    for game in args.games:
        for row in SEARCHES:
            search = units.get(f"{game}/{row}")
            if search and search["answer"]:
                rows[game][row] = search["answer"]
    for game, row, architecture in args.pick:
        rows.setdefault(game, {})[row] = architecture
    return rows


def unit_name(game: str, row: str, architecture: str, seed: int) -> str:
    return f"{game}/{row}/{architecture}/{seed}"


def ready_units(units: Units, args) -> Ready:
    todo: Ready = {}
    for seed in test_seeds(args):
        for game, rows in rows_of(args, units).items():
            for row, architecture in rows.items():
                name = unit_name(game, row, architecture, seed)
                if units.get(name) is None:
                    todo[name] = (train, (architecture, game, args.steps, seed, space_of(row)))
    return todo


def test_seeds(args) -> list[int]:
    return list(range(args.first_test_seed, args.first_test_seed + args.test_seeds))


def summarise(args) -> tuple[dict, str]:
    """``summary.json`` in the issue's format (scores in test-seed order, only seeds done), and the report."""
    from nni_rl_nas.seed_statistics import paired_difference, verdict

    units = Units(args.out / "units")
    seeds = test_seeds(args)
    summary: dict = {"test_seeds": seeds, "games": {}}
    lines = [
        f"PPO, {args.steps} env steps per agent, test seeds {seeds[0]}-{seeds[-1]}; score: mean greedy return over "
        f"{SCORE['episodes']} episodes at the end of training"
    ]
    for game, rows in rows_of(args, units).items():
        done = {
            row: [units.get(unit_name(game, row, architecture, seed)) for seed in seeds]
            for row, architecture in rows.items()
        }
        scores = {row: [unit["score"] for unit in found if unit] for row, found in done.items()}
        entry: dict = {}
        for row, architecture in rows.items():
            entry[row] = {"architecture": architecture, "scores": scores[row]} if row in PICKS else scores[row]
        summary["games"][game] = entry
        complete = [row for row in HAND_DESIGNS if all(done[row])]
        best = (
            max(complete, key=lambda row: statistics.mean(scores[row])) if len(complete) == len(HAND_DESIGNS) else None
        )
        lines += [
            f"\n## MinAtar/{game}-v1",
            f"best hand design on the test seeds: {HAND_DESIGNS[best] if best else 'not yet (seeds missing)'}",
            "",
            "| encoder | architecture | mean +- sd (population) over test seeds | minus the best hand design, "
            "paired 95% interval | verdict | parameters | env steps/s (median) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row, architecture in rows.items():
            found = [unit for unit in done[row] if unit]
            comparison, said = "-", "-"
            if best and row != best and all(done[row]):
                difference = paired_difference(scores[row], scores[best])
                interval = difference["ci95"]
                comparison = f"{difference['mean']:+.2f}" + (
                    f" [{interval[0]:+.2f}, {interval[1]:+.2f}]" if interval else ""
                )
                said = verdict(interval)
            speed = statistics.median(unit["env_steps_per_s"] for unit in found) if found else None
            lines.append(
                f"| {HAND_DESIGNS.get(row, row)} | `{architecture}` | {spread(scores[row], 2)} | {comparison} | "
                f"{said} | {found[0]['parameters'] if found else '-'} | {f'{speed:.0f}' if speed else '-'} |"
            )
    return summary, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=list(GAMES))
    parser.add_argument("--test-seeds", type=int, default=10)
    parser.add_argument("--first-test-seed", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps of every agent")
    parser.add_argument(
        "--pick",
        nargs=3,
        action="append",
        default=[],
        metavar=("GAME", "ROW", "ARCHITECTURE"),
        help=f"a search's pick to train on the test seeds; ROW is one of {list(PICKS)}",
    )
    parser.add_argument("--searches", nargs="*", default=list(GAMES), help="the games to run the TPE search on")
    parser.add_argument("--search-agents", type=int, default=30, help="the search's budget, in agents' env steps")
    parser.add_argument("--darts", nargs="*", default=list(GAMES), help="the games to run RL-DARTS on")
    parser.add_argument(
        "--darts-searches",
        type=int,
        default=6,
        help="RL-DARTS searches per game; with their retrains, about --search-agents agents' compute",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/minatar_encoders"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if any(row not in PICKS for _, row, _ in args.pick):
        parser.error(f"--pick: ROW must be one of {list(PICKS)}")
    if not args.report_only:
        units = Units(args.out / "units")
        run_units(units, lambda: ready_units(units, args), args.workers)  # the hand designs first
        for row, games in (("search", args.searches), ("darts", args.darts)):
            for game in games:
                units.ensure(f"{game}/{row}", functools.partial(run_search, row, game, args))
                run_units(units, lambda: ready_units(units, args), args.workers)  # its answer on the test seeds
    summary, report = summarise(args)
    write_results(args.out, summary, report)


if __name__ == "__main__":
    main()
