"""Which seed protocol finds networks that hold on seeds no search saw: one seed per trial, a fixed
3 seeds per trial, or racing, for random search, NNI's TPE and the policy-gradient controller.

Each search replays against a landscape (:func:`nni_rl_nas.landscape.replay_search`) with the
zoo's 256-relu_256-relu as its baseline, under an env-step budget (0.5, 1, 2 and 4M: 5 to 40
seed trainings of 100k), over ``--search-seeds`` searches:

- ``lunar``: the recorded LunarLander landscape. A search sees only its search seeds 0-4; its
  answer and the baseline are judged on the test seeds 5-9, which no search saw.
- ``synthetic``: its semi-synthetic twin (:class:`nni_rl_nas.landscape.SyntheticLandscape`),
  a fresh exact truth per search seed, so the answer is judged by its true mean.

Protocols, as ``racing`` options: ``one_seed`` (1 seed per trial), ``three_seeds`` (3 per trial),
``racing`` (1 seed first, up to 5; the answer on 5; a paired t-test at 0.8; the baseline paired on
every seed), ``racing_main_job`` (the main job's: up to 3, the answer on 3, the baseline on its
first seed only) and ``finalists`` (one seed per architecture while the search runs; when it ends,
the three best on that seed train on seeds 0-2 and the best of them there is the answer).
Per cell: the expected test score of the answer with its 95% t-interval; P(its test score is
more than 20 below the baseline's); and two verdicts (:mod:`nni_rl_nas.seed_statistics`), each
counted as how often it says ``better`` and, of those, the share the test seeds (or the truth)
agree with, its precision:

- the *search-seed verdict*: the paired interval of answer - baseline on the search seeds both
  ran, the seeds that also chose the answer (a search with one seed per trial has no interval);
- the *test-seed verdict*, the one the tool reports (``verdict.test_seeds: 5``): the paired
  interval on 5 seeds no search saw. On ``synthetic`` those are fresh seeds and the truth judges
  it; on ``lunar`` they are the test seeds 5-9 themselves, and no further seeds are left to judge it.

Resumable: each (landscape, strategy, protocol, budget) cell is appended to ``results.jsonl``
in one atomic write when its searches end, and a cell already there is skipped.

    python benchmarks/seed_protocols.py                      # 20 search seeds, both landscapes, 2 workers
    python benchmarks/seed_protocols.py --report-only        # table.md, summary.json and plot.png again
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from scipy import stats

from nni_rl_nas.files import append_json_lines, write_atomically, write_json

RESULTS = Path(__file__).parent / "results"
LANDSCAPE = RESULTS / "landscape_lunar"
OUT = RESULTS / "seed_protocols"
RULE, BASELINE, SHORTFALL = "mean_return", "256-relu_256-relu", 20.0
VERDICT_SEEDS = 5  # the main job's verdict.test_seeds (the recorded landscape holds 5 test seeds)
BUDGETS = (500_000, 1_000_000, 2_000_000, 4_000_000)
PROTOCOLS = {
    "one_seed": {"initial_seeds": 1, "max_seeds": 1},
    "three_seeds": {"initial_seeds": 3, "max_seeds": 3},
    "racing": {"initial_seeds": 1, "max_seeds": 5, "answer_seeds": 5, "rule": "t_test", "confidence": 0.8},
    # the main job's settings (experiment_configs/enas_lunar.yml): the baseline keeps its first seed
    "racing_main_job": {
        "initial_seeds": 1,
        "max_seeds": 3,
        "answer_seeds": 3,
        "rule": "t_test",
        "confidence": 0.8,
        "pair_baselines": False,
    },
    # no racing while the search runs; the three best on their one seed race on seeds 0-2 at the end
    "finalists": {"initial_seeds": 1, "max_seeds": 1, "answer_seeds": 3, "finalists": 3, "pair_baselines": False},
}
STRATEGIES = ("random", "tpe", "policy_gradient")
LANDSCAPES = ("lunar", "synthetic")


def build_strategy(name: str, seed: int, space: dict, protocol: dict, budget: int):
    from nni_rl_nas.strategies import NniTunerStrategy, PolicyGradientStrategy, RandomStrategy

    common = {
        "space": space,
        "task": {"env": "LunarLander-v3", "total_timesteps": 100_000},
        "seed": seed,
        "racing": protocol,
        "baselines": [BASELINE],
        "budget": {"env_steps": budget},
    }
    if name == "tpe":
        return NniTunerStrategy(**common, algorithm="TPE")
    return {"random": RandomStrategy, "policy_gradient": PolicyGradientStrategy}[name](**common)


def landscape_for(kind: str, search_seed: int):
    from nni_rl_nas.landscape import SyntheticLandscape, load_landscape

    recorded = load_landscape(LANDSCAPE)
    return recorded if kind == "lunar" else SyntheticLandscape(recorded, RULE, seed=search_seed, search_seeds=5)


def test_score(landscape, kind: str, name: str) -> float:
    """The answer's score where no search looked: the truth (synthetic) or the test seeds' mean."""
    return (
        landscape.true_score(name, RULE)
        if kind == "synthetic"
        else landscape.true_score(name, RULE, landscape.test_seeds)
    )


def one_search(
    kind: str, strategy: str, protocol: str, budget: int, search_seed: int, verdict_seeds: int = VERDICT_SEEDS
) -> dict:
    """Replay one search; what it answered, what the test seeds say of it, what it could say itself."""
    import torch

    from nni_rl_nas.landscape import LandscapeTrials, replay_search
    from nni_rl_nas.seed_statistics import paired_difference, verdict

    torch.set_num_threads(1)
    random.seed(search_seed)
    np.random.seed(search_seed)
    landscape = landscape_for(kind, search_seed)
    search = build_strategy(strategy, search_seed, landscape.header["space"], PROTOCOLS[protocol], budget)
    task_seed = search_seed % len(landscape.search_seeds)
    trials = LandscapeTrials(landscape, RULE, task_seed)
    log = replay_search(search, trials, budget)
    answer = search.race.answer
    mine, theirs = search.race.entrants[answer].scores, search.race.entrants[BASELINE].scores
    shared = sorted(set(mine) & set(theirs))
    difference = paired_difference([mine[s] for s in shared], [theirs[s] for s in shared])
    said = verdict(difference["ci95"])
    answer_test, baseline_test = test_score(landscape, kind, answer), test_score(landscape, kind, BASELINE)
    test_seeds = landscape.test_seeds[:verdict_seeds]
    if len(test_seeds) < verdict_seeds:
        raise SystemExit(f"--verdict-seeds {verdict_seeds}: the {kind} landscape holds {len(test_seeds)} test seeds")
    tested = paired_difference(
        [landscape.true_score(answer, RULE, [seed]) for seed in test_seeds],
        [landscape.true_score(BASELINE, RULE, [seed]) for seed in test_seeds],
    )
    return {
        "landscape": kind,
        "strategy": strategy,
        "protocol": protocol,
        "budget": budget,
        "search_seed": search_seed,
        "answer": answer,
        "answer_seeds": len(mine),
        "trials": len(log),
        "architectures": len(search.race.entrants) - 1,
        "env_steps": trials.spent_env_steps,
        "test_score": float(answer_test),
        "baseline_test_score": float(baseline_test),
        "search_verdict": said,
        "search_difference": difference["mean"],
        "search_ci95": difference["ci95"],
        "test_agrees": bool(answer_test > baseline_test),
        "test_verdict": verdict(tested["ci95"]),
        "test_difference": tested["mean"],
        "test_ci95": tested["ci95"],
        "test_verdict_judged": kind == "synthetic",
        "verdict_seeds": verdict_seeds,
    }


def cell_key(record: dict) -> tuple:
    return record["landscape"], record["strategy"], record["protocol"], record["budget"]


def run_cell(kind: str, strategy: str, protocol: str, budget: int, search_seeds: int, verdict_seeds: int) -> list[dict]:
    logging.getLogger("nni").setLevel(logging.ERROR)
    logging.getLogger("nni_rl_nas").setLevel(logging.ERROR)
    return [one_search(kind, strategy, protocol, budget, seed, verdict_seeds) for seed in range(search_seeds)]


def mean_interval(values: list[float]) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    half = (
        stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
    )
    return float(values.mean()), float(half)


def summarize(records: list[dict]) -> dict:
    cells: dict[tuple, list[dict]] = {}
    for record in records:
        cells.setdefault(cell_key(record), []).append(record)
    table = {}
    for (kind, strategy, protocol, budget), searches in sorted(cells.items()):
        mean, half = mean_interval([search["test_score"] for search in searches])
        # against one seed per trial on the same search seeds (the same truths on ``synthetic``): paired
        one_seed = {
            search["search_seed"]: search["test_score"]
            for search in cells.get((kind, strategy, "one_seed", budget), [])
        }
        paired = [
            search["test_score"] - one_seed[search["search_seed"]]
            for search in searches
            if search["search_seed"] in one_seed
        ]
        versus, versus_half = mean_interval(paired) if protocol != "one_seed" and len(paired) > 1 else (None, None)
        better = [search for search in searches if search["search_verdict"] == "better"]
        tested_better = [search for search in searches if search["test_verdict"] == "better"]
        judged = [search for search in tested_better if search["test_verdict_judged"]]
        table.setdefault(kind, {}).setdefault(strategy, {}).setdefault(protocol, {})[str(budget)] = {
            "searches": len(searches),
            "expected_test_score": mean,
            "ci95_half_width": half,
            "p_shortfall": float(
                np.mean([search["test_score"] < search["baseline_test_score"] - SHORTFALL for search in searches])
            ),
            "said_better": len(better),
            "precision": float(np.mean([search["test_agrees"] for search in better])) if better else None,
            "test_said_better": len(tested_better),
            "test_precision": float(np.mean([search["test_agrees"] for search in judged])) if judged else None,
            "trials": float(np.mean([search["trials"] for search in searches])),
            "architectures": float(np.mean([search["architectures"] for search in searches])),
            "answer_seeds": float(np.mean([search["answer_seeds"] for search in searches])),
            "baseline_test_score": float(np.mean([search["baseline_test_score"] for search in searches])),
            "versus_one_seed": versus,
            "versus_one_seed_ci95_half_width": versus_half,
        }
    return table


def budgets_in(table: dict) -> list[int]:
    return sorted(
        {
            int(budget)
            for strategies in table.values()
            for protocols in strategies.values()
            for budgets in protocols.values()
            for budget in budgets
        }
    )


def markdown(table: dict, search_seeds: int, command: str, verdict_seeds: int) -> str:
    lines = [
        f"# Seed protocols: one seed per trial, three, racing, or finalists ({search_seeds} search seeds per row)",
        "",
        f"Command: `{command}`",
        "",
        "Per row: the expected test score of the answer ± the 95% half-width; its paired difference from one "
        f"seed per trial on the same search seeds; P(the answer's test score < the baseline's - {SHORTFALL:.0f}); "
        "the searches whose search-seed verdict said `better` (in brackets its precision: the share the test "
        f"seeds or the truth agree with); the same for the test-seed verdict ({verdict_seeds} unseen seeds, the "
        "tool's own; its precision against the truth, synthetic only); the architectures a search tried; the "
        "seeds its answer rests on.",
        "",
    ]
    for kind, strategies in table.items():
        baseline = np.mean(
            [
                cell["baseline_test_score"]
                for protocols in strategies.values()
                for budgets in protocols.values()
                for cell in budgets.values()
            ]
        )
        what = (
            "recorded landscape; answers judged on test seeds 5-9"
            if kind == "lunar"
            else "semi-synthetic landscape; answers judged by their exact true mean"
        )
        lines += [
            f"## {kind}: {what} (baseline {BASELINE}: {baseline:.1f})",
            "",
            "| env steps | strategy | protocol | test score | vs one seed | P(short) | search-seed `better` | "
            "test-seed `better` | architectures | answer seeds |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for budget in budgets_in(table):
            for strategy, protocols in strategies.items():
                for protocol, budgets in protocols.items():
                    cell = budgets.get(str(budget))
                    if cell is None:
                        continue
                    versus = (
                        ""
                        if cell["versus_one_seed"] is None
                        else f"{cell['versus_one_seed']:+.1f} ± {cell['versus_one_seed_ci95_half_width']:.1f}"
                    )
                    lines.append(
                        f"| {budget / 1e6:g}M | {strategy} | {protocol} | "
                        f"{cell['expected_test_score']:.1f} ± {cell['ci95_half_width']:.1f} | {versus} | "
                        f"{cell['p_shortfall']:.2f} | {counted(cell['said_better'], cell['precision'])} | "
                        f"{counted(cell['test_said_better'], cell['test_precision'])} | "
                        f"{cell['architectures']:.1f} | {cell['answer_seeds']:.1f} |"
                    )
        lines.append("")
    return "\n".join(lines)


def counted(said: int, precision: float | None) -> str:
    return f"{said}" if precision is None else f"{said} ({precision:.2f})"


def plot(table: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(table), figsize=(6 * len(table), 4), squeeze=False)
    for axis, (kind, strategies) in zip(axes[0], table.items()):
        for (strategy, protocols), color in zip(strategies.items(), ("C0", "C1", "C2")):
            for protocol, style in zip(PROTOCOLS, (":", "--", "-", "-.", (0, (5, 1, 1, 1, 1, 1)))):
                budgets = protocols.get(protocol, {})
                xs = [budget / 1e6 for budget in budgets_in(table) if str(budget) in budgets]
                ys = [
                    budgets[str(budget)]["expected_test_score"]
                    for budget in budgets_in(table)
                    if str(budget) in budgets
                ]
                axis.plot(xs, ys, linestyle=style, color=color, marker="o", label=f"{strategy}, {protocol}")
        axis.set(
            xscale="log", xlabel="search budget (M env steps)", ylabel="expected test score of the answer", title=kind
        )
        axis.legend(fontsize=6)
    figure.tight_layout()
    write_atomically(out / "plot.png", lambda target: figure.savefig(target, dpi=110))


def report(out: Path, search_seeds: int, command: str) -> None:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    table = summarize(records)
    write_json(
        out / "summary.json",
        {
            "search_seeds": search_seeds,
            "budgets": budgets_in(table),
            "protocols": {
                name: options for name, options in PROTOCOLS.items() if any(r["protocol"] == name for r in records)
            },
            "baseline": BASELINE,
            "shortfall": SHORTFALL,
            "table": table,
        },
    )
    verdict_seeds = records[0].get("verdict_seeds", VERDICT_SEEDS)
    text = markdown(table, search_seeds, command, verdict_seeds)
    write_atomically(out / "table.md", lambda target: target.write_text(text))
    plot(table, out)


def given_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The options that differ from their defaults, as a command line writes them (the table's command)."""
    given = []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.option_strings and action.dest not in ("help", "report_only") and value != action.default:
            flag = action.option_strings[0]
            given += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
    return given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search-seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--landscapes", nargs="+", default=list(LANDSCAPES), choices=LANDSCAPES)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    parser.add_argument(
        "--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS, help="keep one_seed: rows pair with it"
    )
    parser.add_argument("--verdict-seeds", type=int, default=VERDICT_SEEDS, help="test seeds of the test-seed verdict")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    command = " ".join(["python benchmarks/seed_protocols.py", *given_arguments(parser, args)])
    results = args.out / "results.jsonl"
    if not args.report_only:
        done = {cell_key(json.loads(line)) for line in results.read_text().splitlines()} if results.exists() else set()
        cells = [
            cell
            for cell in itertools.product(args.landscapes, args.strategies, args.protocols, args.budgets)
            if cell not in done
        ]
        started = time.monotonic()
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ProcessPoolExecutor(args.workers) as pool:
            futures = {
                pool.submit(run_cell, *cell, args.search_seeds, args.verdict_seeds): cell
                for cell in sorted(cells, key=lambda cell: -cell[3])
            }
            for future in as_completed(futures):
                append_json_lines(results, future.result())
                print(f"{' '.join(map(str, futures[future]))}: done ({time.monotonic() - started:.0f} s)", flush=True)
    report(args.out, args.search_seeds, command)
    print((args.out / "table.md").read_text())


if __name__ == "__main__":
    main()
