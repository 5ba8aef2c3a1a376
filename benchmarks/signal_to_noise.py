"""Where NAS pays in RL: how much of a task's score variance the architecture explains, from the
project's own committed results, and what that means for the seeds a search needs.

For each task, a one-way random-effects ANOVA over its architectures (each trained on several
seeds; :func:`nni_rl_nas.seed_statistics.variance_components`) gives the standard deviation
between architectures' true scores and between seeds of one architecture, and the
architecture's share of the variance (the intraclass correlation, ICC). From them: how well a
k-seed mean ranks architectures (its reliability, k ICC / (1 + (k - 1) ICC)), the seeds per
architecture for a reliability of 0.8, and the paired seeds that tell apart two architectures
one between-architecture standard deviation apart (80% power, two-sided 5%).

Tasks: LunarLander DQN (``landscape_lunar``: its 64 networks at 100k env steps, scored by the
final greedy mean return and by the mean greedy return over the second half of the curve) and
the MinAtar PPO encoders (``darts_minatar``: NatureCNN-10x10, IMPALA-CNN, a random DARTS genotype
and RL-DARTS's, 100k env steps, 3 seeds each, per game).

    python benchmarks/signal_to_noise.py        # writes benchmarks/results/signal_to_noise/
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nni_rl_nas.files import write_atomically, write_json
from nni_rl_nas.landscape import load_landscape
from nni_rl_nas.seed_statistics import reliability, seeds_needed, variance_components

RESULTS = Path(__file__).parent / "results"
OUT = RESULTS / "signal_to_noise"
TARGET_RELIABILITY = 0.8


def second_half_of_curve(record: dict) -> float:
    """The mean greedy return over the second half of a record's curve (its later report points)."""
    points = [point["greedy_return"] for point in record["curve"]]
    return float(np.mean(points[len(points) // 2 :]))


def lunar_tasks() -> dict[str, list[list[float]]]:
    landscape = load_landscape(RESULTS / "landscape_lunar")
    final = [landscape.seed_scores(name, "mean_return") for name in landscape.by_architecture]
    curve = [[second_half_of_curve(record) for record in records] for records in landscape.by_architecture.values()]
    return {"LunarLander DQN, final greedy return": final, "LunarLander DQN, second half of the curve": curve}


def minatar_tasks() -> dict[str, list[list[float]]]:
    summary = json.loads((RESULTS / "darts_minatar" / "summary.json").read_text())
    return {
        f"MinAtar {game} PPO encoders": [list(scores) for scores in encoders.values()]
        for game, encoders in summary["games"].items()
    }


def row(task: str, groups: list[list[float]]) -> dict:
    components = variance_components(groups)
    icc, between, within = (
        components[key] for key in ("intraclass_correlation", "between_architectures_sd", "between_seeds_sd")
    )
    seeds = sorted({len(group) for group in groups})
    needed = None if not icc else math.ceil(TARGET_RELIABILITY * (1 - icc) / ((1 - TARGET_RELIABILITY) * icc))
    return {
        "task": task,
        "architectures": len(groups),
        "seeds": seeds,
        "between_architectures_sd": between,
        "between_seeds_sd": within,
        "intraclass_correlation": icc,
        "reliability": {str(k): reliability(icc, k) if icc else 0.0 for k in (1, 3, 10)},
        "seeds_for_reliability_0.8": needed,
        "paired_seeds_to_tell_one_sd_apart": seeds_needed(math.sqrt(2) * within, between) if between else None,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| task | architectures x seeds | sd between architectures | sd between seeds | ICC | reliability of "
        "1 / 3 / 10 seeds | seeds for reliability 0.8 | paired seeds to tell 1 sd apart |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in rows:
        reliabilities = " / ".join(f"{value:.2f}" for value in entry["reliability"].values())
        needed = entry["seeds_for_reliability_0.8"]
        apart = entry["paired_seeds_to_tell_one_sd_apart"]
        lines.append(
            f"| {entry['task']} | {entry['architectures']} x {'/'.join(map(str, entry['seeds']))} | "
            f"{entry['between_architectures_sd']:.2f} | {entry['between_seeds_sd']:.2f} | "
            f"{entry['intraclass_correlation']:.2f} | {reliabilities} | {needed if needed else 'never'} | "
            f"{apart if apart else 'never'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    rows = [row(task, groups) for task, groups in {**lunar_tasks(), **minatar_tasks()}.items()]
    write_json(OUT / "summary.json", rows)
    table = markdown(rows)
    write_atomically(OUT / "table.md", lambda target: target.write_text(table))
    print(table)


if __name__ == "__main__":
    main()
