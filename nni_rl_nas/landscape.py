"""A landscape: every architecture of a space trained once on several seeds and recorded, so a
search strategy can be replayed against the table in seconds instead of training (the tabular
benchmarks of supervised NAS, NAS-Bench-101/201, for RL agents).

The table (``benchmarks/landscape.py`` generates it) is a folder: ``landscape.json`` (the env,
space, seeds, budget, score rules and settings) and ``records.jsonl``, one line per architecture
and seed with its learning curve, when each solve rule judged it solved, its score under each
rule, and its cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

LANDSCAPE_FILE, RECORDS_FILE = "landscape.json", "records.jsonl"


@dataclass(frozen=True)
class Landscape:
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    @cached_property
    def by_architecture(self) -> dict[str, list[dict[str, Any]]]:
        """Each architecture's records, in seed order."""
        table: dict[str, list[dict[str, Any]]] = {}
        for record in sorted(self.records, key=lambda record: record["seed"]):
            table.setdefault(record["architecture"], []).append(record)
        return table

    @property
    def architectures(self) -> list[str]:
        return list(self.by_architecture)

    def seed_scores(self, architecture: str, rule: str) -> list[float]:
        return [record["scores"][rule]["value"] for record in self.by_architecture[architecture]]

    def true_score(self, architecture: str, rule: str) -> float:
        """The architecture's score under ``rule``, averaged over every recorded seed: the best
        estimate the table has, against which a search's pick is judged."""
        return float(np.mean(self.seed_scores(architecture, rule)))

    def ranking(self, rule: str) -> list[tuple[str, float]]:
        """Architectures by true score, best first."""
        return sorted(((name, self.true_score(name, rule)) for name in self.by_architecture), key=lambda item: -item[1])

    def describe(self) -> str:
        seeds = {len(records) for records in self.by_architecture.values()}
        env_steps = sum(record["budget"] for record in self.records)
        core_seconds = sum(record["wall_clock_s"] for record in self.records)
        return (f"{self.header['env']} {self.header['algorithm'].upper()}: {len(self.by_architecture)} architectures x "
                f"{'/'.join(map(str, sorted(seeds)))} seeds, {self.header['budget']:,} env steps each; "
                f"{env_steps:,} env steps in all, {core_seconds / 3600:.1f} core-hours")


def load_landscape(folder: Path) -> Landscape:
    folder = Path(folder)
    header = json.loads((folder / LANDSCAPE_FILE).read_text())
    records_path = folder / RECORDS_FILE
    records = [json.loads(line) for line in records_path.read_text().splitlines()] if records_path.exists() else []
    return Landscape(header, records)
