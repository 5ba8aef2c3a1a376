"""Early stopping on LunarLander-v3: env steps NNI's assessors save against the quality they lose.

First it trains ``--trials`` random architectures of the original 100-network LunarLander space to the full budget,
one trial process each, ``--workers`` at a time, keeping every trial's learning curve (the
intermediate results NNI's assessors read). Then it replays those curves, in the order the trials
finished, through NNI's own ``MedianstopAssessor`` and ``CurvefittingAssessor`` exactly as NNI's
dispatcher feeds them: one intermediate result at a time, the trial stopped at the first "bad",
``trial_end`` after each trial. A replay is what one-trial-at-a-time NNI would have done with the
same curves, so every assessor setting is judged on the same trials.

Printed per assessor setting: trials stopped, env steps spent and the fraction saved, the best
final score among the trials it let finish against the best overall, and how many solving
trials (final greedy mean >= 200) it kept.

    python benchmarks/assessor_savings.py --trials 20 --out /tmp/assessors
    python benchmarks/assessor_savings.py --replay-only --out /tmp/assessors

``benchmarks/results/assessor_lunar/trials.json`` keeps the curves behind the README's figures, so
``--replay-only --out benchmarks/results/assessor_lunar`` reprints them.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import searches
import yaml
from compare_strategies import one_trial

from nni_rl_nas.files import write_json

SOLVED = 200.0


def write_config(out: Path, settings: argparse.Namespace) -> Path:
    space = {"family": "mlp", "depth": 2, "widths": settings.widths, "activations": ["sigmoid", "relu"]}
    task = {
        "env": "LunarLander-v3",
        "seed": 0,
        "seeds": 1,
        "total_timesteps": settings.trial_timesteps,
        "report_every": 10000,
        "eval_episodes": 10,
        "score": {"rule": "mean_return", "episodes": 30},
    }
    return searches.write_config(out, "RlNasRandom", {"seed": settings.seed, "space": space, "task": task})


def train(settings: argparse.Namespace) -> None:
    """Train the random architectures; each finished trial is appended to ``trials.json`` at once."""
    from nni_rl_nas.strategies import RandomStrategy
    from nni_rl_nas.strategies.driver import drive

    config = write_config(settings.out, settings)
    strategy = RandomStrategy(**yaml.safe_load(config.read_text())["tuner"]["classArgs"])
    finished: list[dict] = []

    def keep(trial) -> None:
        if trial.result is None:
            print(f"trial {trial.parameter_id} failed: {trial.error}", flush=True)
            return
        record = json.loads((settings.out / trial.parameters["architecture"] / "trial.json").read_text())
        finished.append(
            {"architecture": record["result"]["architecture"], "result": record["result"], "curve": record["curve"]}
        )
        write_json(settings.out / "trials.json", finished)
        print(
            f"{len(finished)}/{settings.trials} {record['result']['architecture']}: final "
            f"{record['result']['default']:.1f}, curve {[round(p['default']) for p in record['curve']]}",
            flush=True,
        )

    with ProcessPoolExecutor(settings.workers) as pool:
        drive(
            strategy,
            functools.partial(one_trial, config, settings.out),
            pool,
            settings.workers,
            keep_proposing=lambda: len(strategy.history) + len(strategy.running_names()) < settings.trials,
            on_finish=keep,
        )


@dataclass
class Outcome:
    stopped: int
    env_steps: int
    kept_scores: list[float]


def replay(trials: list[dict], assessor) -> Outcome:
    """Feed each trial's curve to ``assessor`` the way NNI's dispatcher does, in finishing order."""
    from nni.assessor import AssessResult

    stopped, env_steps, kept = 0, 0, []
    for index, trial in enumerate(trials):
        trial_id, history, stop_at = str(index), [], None
        for step, point in enumerate(trial["curve"]):
            history.append(point)
            verdict = assessor.assess_trial(trial_id, list(history))
            if verdict is AssessResult.Bad or verdict is False:
                stop_at = step
                break
        assessor.trial_end(trial_id, stop_at is None)
        if stop_at is None:
            env_steps += trial["result"]["env_steps"]
            kept.append(trial["result"]["default"])
        else:
            stopped += 1
            env_steps += trial["curve"][stop_at]["env_steps"]
    return Outcome(stopped, env_steps, kept)


def assessors(points: int) -> dict[str, callable]:
    from nni.algorithms.hpo.curvefitting_assessor import CurvefittingAssessor
    from nni.algorithms.hpo.medianstop_assessor import MedianstopAssessor

    return {
        **{f"Medianstop start_step={s}": functools.partial(MedianstopAssessor, "maximize", s) for s in (2, 3, 5)},
        **{f"Curvefitting start_step={s}": functools.partial(CurvefittingAssessor, points, s, 0.95, 1) for s in (4, 6)},
    }


def summarize(trials: list[dict]) -> None:
    logging.getLogger("nni").setLevel(logging.ERROR)  # Medianstop logs each trial shorter than start_step
    scores = [trial["result"]["default"] for trial in trials]
    total = sum(trial["result"]["env_steps"] for trial in trials)
    solvers = sum(score >= SOLVED for score in scores)
    points = max(len(trial["curve"]) for trial in trials)
    print(
        f"\n{len(trials)} trials, {total} env steps without an assessor; best final {max(scores):.1f}; "
        f"{solvers} solving (final greedy mean >= {SOLVED:.0f} over 30 episodes)"
    )
    print(
        f"{'assessor':<28}{'stopped':>8}{'env steps':>11}{'saved':>8}{'best kept':>11}{'best lost':>11}"
        f"{'solvers kept':>14}"
    )
    for name, make in assessors(points).items():
        with warnings.catch_warnings():  # Curvefitting's curve fits overflow on returns that swing by hundreds
            warnings.simplefilter("ignore")
            outcome = replay(trials, make())
        best_kept = max(outcome.kept_scores, default=float("nan"))
        print(
            f"{name:<28}{outcome.stopped:>8}{outcome.env_steps:>11}{1 - outcome.env_steps / total:>8.1%}"
            f"{best_kept:>11.1f}{max(scores) - best_kept:>11.1f}"
            f"{sum(s >= SOLVED for s in outcome.kept_scores):>9}/{solvers}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--widths",
        type=int,
        nargs="+",
        default=[64, 128, 256],
        help="layer widths; the seed space's 1024/2048 take hours a trial on one CPU core",
    )
    parser.add_argument("--trial-timesteps", type=int, default=100000)
    parser.add_argument("--replay-only", action="store_true", help="replay the curves already in OUT/trials.json")
    args = parser.parse_args()
    if not args.replay_only:
        train(args)
    summarize(json.loads((args.out / "trials.json").read_text()))


if __name__ == "__main__":
    main()
