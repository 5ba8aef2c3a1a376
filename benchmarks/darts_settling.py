"""Does averaging the operation weights settle a DARTS search's genotype? From the committed search
records (``benchmarks/results/darts_minatar``), the genotype discretised at each report point from
an exponential moving average of the operation weights over the report points (decay 0: the
weights as they stood, the shipped discretisation), and the report point from which it no longer
changed. No training: it reads the records.

    python benchmarks/darts_settling.py
"""

from __future__ import annotations

import json
from pathlib import Path

from nni_rl_nas.oneshot.darts import discretise

RESULTS = Path(__file__).resolve().parent / "results" / "darts_minatar"
SEARCHES = {
    "Breakout (PPO)": "units/Breakout__search.json",
    "SpaceInvaders (PPO)": "units/SpaceInvaders__search.json",
    "Asterix (PPO)": "units/Asterix__search.json",
    "Seaquest (PPO)": "diagnostics/seaquest_shipped.json",
    "Breakout (DQN)": "units/Breakout__dqn_search.json",
}
DECAYS = (0.0, 0.5, 0.7, 0.8, 0.9)


def settled_at(points: list[tuple[int, dict]], decay: float) -> tuple[int, dict]:
    """(the env steps from which the averaged genotype stayed the final one, that genotype)."""
    average, genotypes = None, []
    for env_steps, weights in points:
        average = (
            weights
            if average is None
            else {
                edge: {op: decay * average[edge][op] + (1 - decay) * weight for op, weight in ops.items()}
                for edge, ops in weights.items()
            }
        )
        genotypes.append((env_steps, discretise(average)))
    final, settled = genotypes[-1][1], genotypes[-1][0]
    for env_steps, genotype in reversed(genotypes):
        if genotype != final:
            break
        settled = env_steps
    return settled, final


def main() -> None:
    print("search                 last report  " + "  ".join(f"decay {decay}" for decay in DECAYS))
    for name, path in SEARCHES.items():
        record = json.loads((RESULTS / path).read_text())
        points = [
            (point["env_steps"], point["operation_weights"])
            for point in record["curve"]
            if point.get("operation_weights")
        ]
        settled = [settled_at(points, decay)[0] for decay in DECAYS]
        print(f"{name:22s} {points[-1][0]:11,d}  " + "  ".join(f"{steps:9,d}" for steps in settled))


if __name__ == "__main__":
    main()
