"""Console entry point ``nni-rl-nas``: setup, spaces, strategies, validate, trial, play, report.

Each command imports what it needs when it runs, so ``report`` never loads torch.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .errors import ConfigError


def _setup(args: argparse.Namespace) -> int:
    from .nni_setup import apply_fixes, register_strategies

    for fix, applied in apply_fixes():
        print(f"NNI {fix.name}: {'fixed' if applied else 'already fixed'} ({fix.path()})")
    print("registered strategies:", ", ".join(register_strategies()))
    return 0


def _spaces(args: argparse.Namespace) -> int:
    from .declarations import describe_options
    from .spaces import SPACE_FAMILIES, count_architectures, search_choices

    for name, family in SPACE_FAMILIES.items():
        space = family.build(family.example_inputs, 2, family.defaults)
        print(f"{name}: {count_architectures(space)} architectures with the default options {family.defaults}")
        print(f"    {family.description}")
        for line in describe_options(family.options, "space."):
            print(f"    {line}")
        for label, values in search_choices(space).items():
            print(f"    {label}: {values}")
        for title, architecture in space.named_architectures().items():
            print(f"    {title} is {architecture}")
    return 0


def _strategies(args: argparse.Namespace) -> int:
    from .declarations import describe_options
    from .options import STRATEGY_OPTIONS

    for name, options in STRATEGY_OPTIONS.items():
        print(f"{name}: {(options.__doc__ or '').strip().splitlines()[0]}")
        for line in describe_options(options):
            print(f"    {line}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .experiment import load_experiment
    from .spaces import count_architectures

    for config in args.config:
        experiment = load_experiment(config)
        space = experiment.spec.meta_space
        print(f"{config}: OK")
        print(f"  strategy {experiment.strategy_name}, options {experiment.options}")
        print(f"  space {experiment.spec.space.family}: {count_architectures(space)} architectures")
        for name, spec in experiment.spec.searched_hyperparameters.items():
            print(f"  searched beside it: {name} {spec['_type']} {spec['_value']}")
        print(f"  task {experiment.spec.task.describe()}")
        if experiment.memory is not None:
            print(f"  memory at most: {experiment.memory.describe()}")
        for warning in experiment.warnings:
            print(f"  warning: {warning}")
    return 0


def _trial(args: argparse.Namespace) -> int:
    from .trial import run_trial

    run_trial(args.config, args.architecture)
    return 0


def _play(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .replay import best_trial, load_agent, play, trial_folders

    folder = best_trial(trial_folders(args.target, Path(args.experiments_dir) if args.experiments_dir else None))
    loaded = load_agent(folder, env_modules=args.env_module)
    print(f"playing {loaded.name} from {folder} on {loaded.task.env}, {args.episodes} greedy episodes")
    returns = play(loaded, args.episodes, args.seed, Path(args.video) if args.video else None)
    for episode, total in enumerate(returns):
        print(f"  episode {episode} (seed {args.seed + episode}): return {total:.1f}")
    print(f"mean return {sum(returns) / len(returns):.1f} over {len(returns)} episodes")
    if args.video:
        print(f"video: {args.video}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .records import controller_progress_of, race_of, resolve_folder
    from .report import database_of, explain_failures, progress, read_database, read_rest_api, write_report

    root = Path(args.experiments_dir) if args.experiments_dir else None
    if args.port:
        progress(f"reading experiment {args.experiment} from NNI's REST API on port {args.port} ...")
        rows = read_rest_api(args.port)
    else:
        database = database_of(args.experiment, root)
        progress(f"reading experiment {args.experiment} from {database} ...")
        rows = read_database(database)
    folder = resolve_folder(args.experiment, root)
    explain_failures(rows, folder if folder.is_dir() else None)
    progress(
        f"read {len(rows)} trials, {sum(len(r.curve) for r in rows)} intermediate results, "
        f"{sum(r.reason is not None for r in rows)} without a score; plotting ..."
    )
    default_out = folder / "report" if folder.is_dir() else Path(f"report-{Path(args.experiment).name}")
    out = Path(args.out) if args.out else default_out
    here = folder.is_dir()
    page = write_report(
        rows,
        f"nni-rl-nas report: experiment {Path(args.experiment).name}",
        out,
        args.top_k,
        controller_progress_of(folder) if here else [],
        race_of(folder) if here else {},
    )
    progress(f"wrote {page} and {page.with_name('summary.json')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nni-rl-nas", description="Neural architecture search for RL agents on NNI.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "setup", help="fix NNI 3.0's trial parameter dispatch and register the strategies (once per environment)"
    )
    commands.add_parser("spaces", help="list the model space families and their sizes")
    commands.add_parser("strategies", help="list the strategies and their options with defaults")
    validate = commands.add_parser("validate", help="check experiment YAMLs without starting anything")
    validate.add_argument("config", nargs="+")
    trial = commands.add_parser("trial", help="run one trial (NNI's trialCommand)")
    trial.add_argument("config")
    trial.add_argument("--architecture", help="train this architecture (e.g. 64-relu_64-relu) outside NNI")
    play = commands.add_parser("play", help="play a trained agent: a trial folder, or the best trial of an experiment")
    play.add_argument("target", help="a trial folder, an experiment folder, or an experiment id")
    play.add_argument("--experiments-dir", help="where experiment ids are looked up (default ~/nni-experiments)")
    play.add_argument("--episodes", type=int, default=5)
    play.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    play.add_argument("--video", help="write the episodes to this MP4 file")
    play.add_argument(
        "--env-module",
        action="append",
        default=[],
        help="a module the trial's env id names (module:EnvId) that you trust: play imports it",
    )
    report = commands.add_parser("report", help="write an HTML report with plots of an experiment's trials")
    report.add_argument("experiment", help="an experiment id or folder")
    report.add_argument("--experiments-dir", help="where experiment ids are looked up (default ~/nni-experiments)")
    report.add_argument("--port", type=int, help="read a running experiment from its REST API on this port")
    report.add_argument(
        "--out",
        help="output folder (default: the experiment's folder/report, or report-<experiment> "
        "where that folder is not on this machine)",
    )
    report.add_argument("--top-k", type=int, default=5, help="architectures whose learning curves are plotted")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = {
        "setup": _setup,
        "spaces": _spaces,
        "strategies": _strategies,
        "validate": _validate,
        "trial": _trial,
        "play": _play,
        "report": _report,
    }[args.command]
    try:
        return handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
