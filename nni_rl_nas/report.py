"""``nni-rl-nas report``: what a search found, as one self-contained HTML page, PNG plots and
``summary.json``.

The records are NNI's own: its REST API while the experiment runs (``--port``), otherwise the
experiment's stored database (``<experiment>/db/nni.sqlite``, which NNI keeps up to date while
it runs too). Both are read into the same :class:`TrialRow` list. The page opens with the
verdict (:mod:`nni_rl_nas.verdict`): whether the answer beat the baseline on paired seeds, with
its interval, or that no network did. Then the strategy's performance over trials (each trial's
score and the best so far, baselines as lines), the learning curves of the top-k trials with
their spread over seeds, score against network size with the Pareto frontier, the ranked table
of architectures (every seed each trained on pooled, intervals beside means), the trials one by
one and the search cost so far. ``summary.json`` holds the verdict as data for a pipeline. Every
file is written atomically.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import math
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, is_number
from .files import write_atomically, write_json
from .options import BASELINE_KEY, OBJECTIVE_KEY, SEARCH_PHASE, TRAIN_SEEDS_KEY, VERDICT_KEY
from .ranking import rank_correlation
from .records import ENDED_WITHOUT_SCORE, failure_reason, open_database, resolve_folder
from .verdict import SeedScores, architecture_rows, headline, pool, summarize_experiment

SUMMARY_FILE = "summary.json"

logger = logging.getLogger(__name__)


def finite_number(value: Any) -> float | None:
    """``value`` as a float when a record holds a finite number there, else None."""
    if is_number(value):
        return float(value)
    return None


@dataclass
class TrialRow:
    trial_id: str
    sequence: int
    status: str
    architecture: str
    result: dict[str, Any] | None  # the final result; None while running or after a failure
    curve: list[dict[str, Any]] = field(default_factory=list)  # intermediate results, in order
    reason: str | None = None  # why a trial that ended has no score (see explain_failures)
    phase: str | None = None  # SEARCH_PHASE for a weight-sharing strategy's search trial
    last_point: int = -1  # NNI's sequence number of the curve's last point
    baseline: bool = False  # a hand-picked network the strategy trained beside its search (``baselines``)
    named_by_result: bool = False  # its parameters name no architecture; its final result does
    verdict: bool = False  # a verdict trial: the answer or a baseline on the test seeds

    @property
    def reported(self) -> dict[str, Any]:
        """The final result's fields; none while the trial runs or after it failed."""
        return self.result or {}

    @property
    def score(self) -> float | None:
        """The final ``default`` when it is a finite number (a search trial's NaN, or text, is no score)."""
        return None if self.result is None else finite_number(self.result.get("default"))

    @property
    def known_score(self) -> float:
        """The score of a trial known to have one (the rows :func:`ranked` returns)."""
        if self.score is None:
            raise ValueError(f"trial {self.trial_id} has no score")
        return self.score

    @property
    def is_search(self) -> bool:
        """A search trial (ENAS, DARTS): its curve is the search's progress, its score no architecture's."""
        return self.phase == SEARCH_PHASE


def _metric(data: Any) -> dict[str, Any] | None:
    """NNI stores a metric as a JSON string of our JSON dict (twice encoded); None when the record
    holds no JSON (records are untrusted: it is skipped, with a warning)."""
    try:
        value = json.loads(data)
        value = json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError):
        logger.warning("report: skipped a metric record that holds no JSON: %.80r", data)
        return None
    return value if isinstance(value, dict) else {"default": value}


def _parameters(parameters_json: Any) -> dict[str, Any]:
    """The parameters NNI gave a trial; {} when the record holds none that can be read."""
    try:
        parameters = json.loads(parameters_json)["parameters"] if parameters_json else {}
    except (TypeError, ValueError, KeyError, IndexError):
        logger.warning("report: skipped trial parameters that hold no JSON mapping: %.80r", parameters_json)
        return {}
    return parameters if isinstance(parameters, dict) else {}


def _describe(row: TrialRow, parameters_json: str | None) -> None:
    """Fill the row's architecture name and phase from the parameters NNI gave its trial (NNI's
    Hyperband gives none: its trials name what they trained in their result, :func:`_add_metric`)."""
    parameters = _parameters(parameters_json)
    row.architecture = str(parameters.get("architecture", parameters))
    row.named_by_result = "architecture" not in parameters
    row.phase = parameters.get("phase")
    row.baseline = parameters.get(BASELINE_KEY) is True
    row.verdict = parameters.get(VERDICT_KEY) is True


def read_database(path: Path) -> list[TrialRow]:
    """Trials from NNI's sqlite database (read-only: the experiment may still be writing it)."""
    connection = open_database(path)
    try:
        rows: dict[str, TrialRow] = {}
        events = connection.execute("SELECT trialJobId, event, data, sequenceId FROM TrialJobEvent ORDER BY timestamp")
        for trial_id, event, data, sequence in events:
            row = rows.setdefault(trial_id, TrialRow(trial_id, sequence or 0, event, "", None))
            row.status = event if event not in ("ADD_RESUMED", "ADD_CUSTOMIZED") else row.status
            if data and not row.architecture:
                _describe(row, data)
        metrics = connection.execute(
            "SELECT trialJobId, type, data, sequence FROM MetricData ORDER BY timestamp, sequence"
        )
        for trial_id, kind, data, sequence in metrics:
            if trial_id in rows:
                _add_metric(rows[trial_id], kind, data, sequence)
    finally:
        connection.close()
    return sorted(rows.values(), key=lambda row: row.sequence)


def read_rest_api(port: int, host: str = "127.0.0.1") -> list[TrialRow]:
    """Trials from a running experiment's REST API."""

    def get(path: str):
        with urllib.request.urlopen(f"http://{host}:{port}/api/v1/nni/{path}", timeout=30) as response:
            return json.loads(response.read())

    rows = {}
    for job in get("trial-jobs"):
        row = rows[job["trialJobId"]] = TrialRow(job["trialJobId"], job.get("sequenceId", 0), job["status"], "", None)
        _describe(row, (job.get("hyperParameters") or [None])[0])
    for metric in get("metric-data"):
        if metric["trialJobId"] in rows:
            _add_metric(rows[metric["trialJobId"]], metric["type"], metric["data"], metric.get("sequence"))
    return sorted(rows.values(), key=lambda row: row.sequence)


def _add_metric(row: TrialRow, kind: str, data: str, sequence: int | None) -> None:
    """Add one record, in the order NNI stored them. A trial that NNI reran on resume reports its
    curve again from sequence 0, beside the killed run's points: the rerun's curve replaces them."""
    metric = _metric(data)
    if metric is None:
        return
    if kind == "FINAL":
        row.result = metric
        if row.named_by_result and isinstance(metric.get("architecture"), str):
            row.architecture = metric["architecture"]
    elif kind == "PERIODICAL":
        if sequence is not None and sequence <= row.last_point:
            row.curve = []
        row.curve.append(metric)
        row.last_point = sequence if sequence is not None else row.last_point + 1


def explain_failures(rows: list[TrialRow], experiment_folder: Path | None) -> None:
    """Give every trial that ended without a score its reason (:func:`failure_reason`)."""
    for row in rows:
        if row.result is None and row.status in ENDED_WITHOUT_SCORE:
            row.reason = failure_reason(row.trial_id, row.status, experiment_folder)


def database_of(experiment: str, root: Path | None) -> Path:
    path = resolve_folder(experiment, root) / "db" / "nni.sqlite"
    if not path.exists():
        raise ConfigError(
            f"report: no NNI database at {path}; fix: pass an experiment id with --experiments-dir "
            "(the config's experimentWorkingDirectory), an experiment folder, or --port of a running one"
        )
    return path


def _figure():
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 3.5))


def _png(figure) -> bytes:
    import io

    import matplotlib.pyplot as plt

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def line_plot(
    series: list[tuple[str, list, list, str]], xlabel: str, ylabel: str, title: str, integer_x: bool = False
) -> bytes:
    """One PNG: each series is (label, xs, ys, matplotlib format)."""
    from matplotlib.ticker import MaxNLocator

    figure, axis = _figure()
    for label, xs, ys, style in series:
        axis.plot(xs, ys, style, label=label)
    if series:
        axis.legend(fontsize=7)
    if integer_x:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return _png(figure)


def plot_search(rows: list[TrialRow]) -> bytes:
    """Each finished trial's score in launch order, and the best score so far (baselines apart)."""
    scored = [
        (row.sequence, row.score)
        for row in rows
        if row.score is not None and not row.is_search and not row.baseline and not row.verdict
    ]
    sequence, scores = (list(column) for column in zip(*scored)) if scored else ([], [])
    best = [max(scores[: i + 1]) for i in range(len(scores))]
    series = [("trial score", sequence, scores, "o"), ("best so far", sequence, best, "-")] if scored else []
    series += [
        (
            f"baseline {row.architecture}",
            [min(sequence, default=0), max(sequence, default=0)],
            [row.score, row.score],
            "--",
        )
        for row in rows
        if row.baseline and row.score is not None
    ]
    return line_plot(series, "trial (launch order)", "score", "Search performance over trials", integer_x=True)


def plot_curves(rows: list[TrialRow], top_k: int) -> bytes:
    """Learning curves of the top-k architectures (intermediate ``default`` against env steps or
    epochs), each with a band of one std across its seeds where a trial trained several."""
    import numpy as np

    top = ranked(rows)[:top_k]
    x_key = "env_steps" if any(row.curve and "env_steps" in row.curve[0] for row in top) else "epoch"
    figure, axis = _figure()
    for row in top:
        points = [
            point
            for point in row.curve
            if finite_number(point.get("default")) is not None and finite_number(point.get(x_key)) is not None
        ]  # records are untrusted: numbers only
        xs = [point[x_key] for point in points]
        (line,) = axis.plot(
            xs,
            [point["default"] for point in points],
            ".-",
            label=row.architecture + (" (baseline)" if row.baseline else ""),
        )
        spreads = [
            [value for value in point["seed_defaults"] if finite_number(value) is not None]
            if isinstance(point.get("seed_defaults"), list)
            else []
            for point in points
        ]
        if points and all(len(values) > 1 for values in spreads):
            means, stds = np.array([np.mean(v) for v in spreads]), np.array([np.std(v) for v in spreads])
            axis.fill_between(xs, means - stds, means + stds, color=line.get_color(), alpha=0.15)
    if top:
        axis.legend(fontsize=7)
    count = "the best architecture" if len(top) == 1 else f"the {len(top)} best architectures"
    axis.set(
        xlabel=x_key.replace("_", " "),
        ylabel="result, mean over seeds (band: +- std)",
        title=f"Learning curves of {count}",
    )
    return _png(figure)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, score) points no other point beats on both: cheaper or as cheap, and better."""
    front, best = [], -float("inf")
    for cost_value, score in sorted(points, key=lambda point: (point[0], -point[1])):
        if score > best:
            front.append((cost_value, score))
            best = score
    return front


def plot_pareto(summary: dict[str, Any]) -> bytes:
    """Score against the network's parameters, one point per architecture (its search seeds
    pooled), the frontier marked; the baselines as stars, and where the verdict trained them, the
    answer's and the baselines' test-seed means as open circles."""
    figure, axis = _figure()
    rows = [row for row in summary["architectures"] if row["search"] and finite_number(row["parameters"])]
    points = [(float(row["parameters"]), row["search"]["aggregate"]) for row in rows]
    searched = [point for point, row in zip(points, rows) if not row["baseline"]]
    if searched:
        axis.scatter(*zip(*searched), s=16, label="architectures (search seeds)")
    front = pareto_front(points)
    if front:
        axis.step(*zip(*front), where="post", color="C3", label="Pareto frontier")
    for (parameters, score), row in zip(points, rows):
        if row["baseline"]:
            axis.scatter([parameters], [score], marker="*", s=120, color="C2", label=f"baseline {row['architecture']}")
        elif (parameters, score) in front or row["answer"]:
            axis.annotate(
                row["architecture"] + (" (answer)" if row["answer"] else ""),
                (parameters, score),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    tested = [
        (float(row["parameters"]), row["test"]["mean"])
        for row in summary["architectures"]
        if row["test"] and finite_number(row["parameters"])
    ]
    if tested:
        axis.scatter(*zip(*tested), s=40, facecolors="none", edgecolors="k", label="test seeds (verdict)")
    if points or tested:
        axis.set_xscale("log")
        axis.legend(fontsize=7)
    axis.set(
        xlabel="parameters (log scale)",
        ylabel=f"score ({summary['aggregate']} over seeds)",
        title="Score against network size",
    )
    return _png(figure)


def plot_searches(rows: list[TrialRow]) -> bytes:
    """ENAS search trials: the mean return of each controller update's children, with the shared weights."""
    series = [
        (row.architecture, [p.get("env_steps") for p in row.curve], [p["default"] for p in row.curve], ".-")
        for row in rows
        if row.is_search
    ]
    return line_plot(
        series,
        "env steps",
        "mean return of the sampled children",
        "Controller performance over updates (shared weights)",
    )


HEATMAP_ROWS = 15  # architectures a controller heatmap shows at most: those it ever found most likely


def probabilities_of(value: Any) -> dict[str, float]:
    """A recorded ``top_probabilities`` mapping; records are untrusted, so only names with a probability survive."""
    if not isinstance(value, dict):
        return {}
    return {str(name): float(p) for name, p in value.items() if finite_number(p) is not None and 0 <= p <= 1}


def controller_series(rows: list[TrialRow], controller_progress: list[dict]) -> list[tuple[str, str, list, list]]:
    """Each controller's updates: (title, x label, xs, top probabilities at each). ENAS's controllers
    are in their search trials' intermediate results, the policy-gradient one in the strategy's file."""
    series = [
        (
            f"{row.architecture} (trial {row.trial_id})",
            "env steps",
            [point.get("env_steps") for point in row.curve],
            [probabilities_of(point.get("top_probabilities")) for point in row.curve],
        )
        for row in rows
        if row.is_search and any("top_probabilities" in point for point in row.curve)
    ]
    if controller_progress:
        series.append(
            (
                "policy-gradient controller",
                "trials finished",
                [update.get("trials") for update in controller_progress],
                [probabilities_of(update.get("top_probabilities")) for update in controller_progress],
            )
        )
    return [entry for entry in series if any(entry[3])]  # a controller with no readable probability has no map


def plot_controller_probabilities(series: list[tuple[str, str, list, list]]) -> bytes:
    """One heatmap per controller: its most likely architectures (rows) over its updates (columns).
    A blank cell: the architecture was not among the top at that update."""
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(len(series), 1, figsize=(7, 0.6 + 2.9 * len(series)), squeeze=False)
    for axis, (title, xlabel, xs, updates) in zip(axes[:, 0], series):
        peak: dict[str, float] = {}
        for update in updates:
            for name, probability in update.items():
                peak[name] = max(peak.get(name, 0.0), probability)
        last = updates[-1] if updates else {}
        names = sorted(peak, key=lambda name: (last.get(name, -1.0), peak[name]), reverse=True)[:HEATMAP_ROWS]
        grid = np.array([[update.get(name, np.nan) for update in updates] for name in names]).reshape(len(names), -1)
        image = axis.imshow(
            np.ma.masked_invalid(grid), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest"
        )
        image.cmap.set_bad("#eeeeee")
        axis.set_yticks(range(len(names)), names, fontsize=6)
        ticks = np.unique(np.linspace(0, max(len(xs) - 1, 0), min(len(xs), 8)).round().astype(int))
        axis.set_xticks(ticks, [str(xs[i]) for i in ticks], fontsize=7)
        axis.set(xlabel=xlabel, title=f"{title}: probability of its top architectures over updates")
        axis.title.set_fontsize(8)
        figure.colorbar(image, ax=axis, label="probability")
    return _png(figure)


def ranked(rows: list[TrialRow]) -> list[TrialRow]:
    """Trained trials, best first: by their objective when the search weighed cost (``cost``), else by score."""
    scored = [row for row in rows if row.score is not None and not row.is_search]

    def rank_key(row: TrialRow) -> tuple[float, float]:
        objective = finite_number(row.reported.get(OBJECTIVE_KEY))
        return (-math.inf if objective is None else objective), row.known_score

    return sorted(scored, key=rank_key, reverse=True)


def _amount(value: Any) -> float:
    """A cost a result reports; records are untrusted text, so anything but a finite number counts 0."""
    number = finite_number(value)
    return 0.0 if number is None else number


def cost(rows: list[TrialRow]) -> dict[str, Any]:
    finished = [row.result for row in rows if row.result]
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    return {
        "trials": len(rows),
        "by status": ", ".join(f"{status} {count}" for status, count in sorted(statuses.items())),
        "env steps": int(sum(_amount(r.get("env_steps")) for r in finished)),
        "trial wall-clock (s)": round(sum(_amount(r.get("wall_clock_s")) for r in finished), 1),
    }


def seed_scores(row: TrialRow) -> SeedScores | None:
    """A finished trial's per-seed scores for pooling; None when its record does not hold them as
    numbers (records are untrusted), or for a search trial."""
    if row.score is None or row.is_search or result_fidelity(row) != 1:
        return None
    result = row.reported
    scores = result.get("seed_scores", [row.score])
    seeds = result.get(TRAIN_SEEDS_KEY, list(range(len(scores))) if isinstance(scores, list) else None)
    if not (
        isinstance(scores, list)
        and isinstance(seeds, list)
        and scores
        and len(scores) == len(seeds)
        and all(finite_number(score) is not None for score in scores)
        and all(isinstance(seed, int) and not isinstance(seed, bool) for seed in seeds)
    ):
        return None
    objective = finite_number(result.get(OBJECTIVE_KEY))
    solved = result.get("solved_seeds")
    return SeedScores(
        row.architecture,
        seeds,
        [float(score) for score in scores],
        row.baseline,
        row.verdict or result.get(VERDICT_KEY) is True,
        penalty=row.score - objective if objective is not None else 0.0,
        parameters=finite_number(result.get("parameters")),
        solved_seeds=int(solved) if isinstance(solved, int) and not isinstance(solved, bool) else 0,
    )


def result_fidelity(row: TrialRow) -> float:
    """The share of the full budget a trial trained (NNI's Hyperband and BOHB train most at less):
    only full trials are pooled, so that no architecture's seeds mix budgets."""
    fidelity = finite_number(row.reported.get("fidelity"))
    return 1 if fidelity is None else fidelity


def experiment_summary(rows: list[TrialRow], race: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json`` (:func:`nni_rl_nas.verdict.summarize_experiment`), with the race's recorded
    answer and aggregate where the strategy wrote them (``race.json``; untrusted, so only a name
    and a known aggregate are taken from it)."""
    written = race or {}
    recorded = written.get("answer") if isinstance(written.get("answer"), str) else None
    name = str(written.get("aggregate")) if written.get("aggregate") in ("mean", "iqm") else "mean"
    pooled = pool(seed_scores for seed_scores in map(seed_scores, rows) if seed_scores is not None)
    summary = summarize_experiment(pooled, recorded, name)
    summary["headline"] = headline(summary)
    summary["architectures"] = architecture_rows(pooled, summary["answer"], name)
    return summary


def _number(value: Any, digits: int) -> str:
    return "" if finite_number(value) is None else f"{value:,.{digits}f}"


def _interval(summary: dict[str, Any] | None, key: str, digits: int) -> str:
    """``mean [low, high]`` of a pooled summary; no interval below 2 seeds."""
    if not summary:
        return ""
    interval = summary.get("ci95")
    bounds = f" [{_number(interval[0], digits)}, {_number(interval[1], digits)}]" if interval else ""
    return f"{_number(summary.get(key), digits)}{bounds}"


def score_digits(rows: list[TrialRow]) -> int:
    """One precision per column: returns to one decimal, accuracies (scores within [0, 1]) to three."""
    scores = [row.score for row in rows if row.score is not None and not row.is_search]
    return 3 if scores and all(0 <= score <= 1 for score in scores) else 1


def ranked_table(summary: dict[str, Any], digits: int) -> str:
    """One row per architecture, every search seed pooled; intervals beside the aggregates."""
    header = (
        "architecture",
        "parameters",
        "search seeds",
        f"{summary['aggregate']} [95% CI]",
        "IQM",
        "sd",
        "test seeds",
        "test mean [95% CI]",
        "solved seeds",
    )
    body = []
    for row in summary["architectures"]:
        search, test = row["search"] or {}, row["test"]
        role = " (answer)" if row["answer"] else " (baseline)" if row["baseline"] else ""
        cells = [
            f"{row['architecture']}{role}",
            _number(row["parameters"], 0),
            str(search.get("seeds", 0)),
            _interval(search, "aggregate", digits),
            _number(search.get("iqm"), digits),
            _number(search.get("sd"), digits),
            str(test["seeds"]) if test else "",
            _interval(test, "mean", digits),
            str(row["solved_seeds"]),
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    return f"<table><tr>{''.join(f'<th>{html.escape(name)}</th>' for name in header)}</tr>{''.join(body)}</table>"


def trial_kind(row: TrialRow) -> str:
    return "verdict" if row.verdict else "baseline" if row.baseline else "search"


# result fields some strategies add, shown as columns when a trial has them: (field, column, digits; None: the score's)
OPTIONAL_COLUMNS = (
    (OBJECTIVE_KEY, "objective", None),
    ("level", "level", 0),
    ("predicted_score", "predicted score", None),
    ("fidelity", "fidelity", 2),
    ("generation", "generation", 0),
)


def trials_table(rows: list[TrialRow], digits: int) -> str:
    """Every finished trial: its seeds, its score, its seeds' scores, and the fields its strategy added
    (the objective when cost is weighed, a progressive level and its prediction, a budget's fidelity)."""
    optional = [
        (key, name, digits if places is None else places)
        for key, name, places in OPTIONAL_COLUMNS
        if any(key in row.reported for row in rows)
    ]
    header = [
        "trial",
        "architecture",
        "kind",
        "seeds",
        "score",
        *(name for _, name, _ in optional),
        "seed scores",
        "env steps",
        "wall-clock (s)",
    ]
    body = []
    for row in rows:
        if row.score is None or row.is_search:
            continue
        result = row.reported
        seeds = result.get(TRAIN_SEEDS_KEY)
        scores = result.get("seed_scores")
        cells = [
            row.trial_id,
            row.architecture,
            trial_kind(row),
            ", ".join(map(str, seeds)) if isinstance(seeds, list) else "",
            _number(row.score, digits),
            *(_number(result.get(key), places) for key, _, places in optional),
            ", ".join(_number(score, digits) for score in scores) if isinstance(scores, list) else "",
            _number(result.get("env_steps"), 0),
            _number(result.get("wall_clock_s"), 0),
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    return f"<table><tr>{''.join(f'<th>{html.escape(name)}</th>' for name in header)}</tr>{''.join(body)}</table>"


def levels(rows: list[TrialRow]) -> list[dict[str, Any]]:
    """A progressive search's levels: per level, its trials, its best (as :func:`ranked` ranks),
    and how the predictor's ranking of the level's trials agreed with what it predicted: their
    objective when the search weighed cost, else their score (Spearman)."""
    by_level: dict[int, list[TrialRow]] = {}
    for row in rows:
        if row.result and row.result.get("level") is not None:
            by_level.setdefault(int(row.result["level"]), []).append(row)
    summary = []
    for level, members in sorted(by_level.items()):
        order = ranked(members)
        predicted = [row for row in order if is_number(row.reported.get("predicted_score"))]
        objectives = [finite_number(row.reported.get(OBJECTIVE_KEY)) for row in predicted]
        actual = [row.known_score if objective is None else objective for row, objective in zip(predicted, objectives)]
        summary.append(
            {
                "level": level,
                "trials": len(members),
                "best": order[0].architecture if order else None,
                "best score": order[0].score if order else None,
                "predictor rank correlation": rank_correlation(
                    [row.reported["predicted_score"] for row in predicted], actual
                ),
            }
        )
    return summary


def _cell(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, lists of numbers joined, anything else as text."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    return str(value)


def render_html(
    title: str, rows: list[TrialRow], images: dict[str, bytes], summary: dict[str, Any] | None = None
) -> str:
    summary = summary or experiment_summary(rows)
    digits = score_digits(rows)
    pictures = "".join(
        f'<h2>{html.escape(name)}</h2><img src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        for name, data in images.items()
    )
    spent = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in cost(rows).items())
    failed = "".join(
        f"<tr><td>{html.escape(row.trial_id)}</td><td>{html.escape(row.architecture)}</td>"
        f"<td>{html.escape(row.status)}</td>"
        f"<td style='text-align:left'>{html.escape(row.reason)}</td></tr>"
        for row in rows
        if row.reason
    )
    searched = "".join(
        f"<tr><td>{html.escape(row.trial_id)}</td><td>{html.escape(row.architecture)}</td>"
        f"<td>{html.escape(str(row.reported.get('children', '')))}</td>"
        f"<td>{html.escape(str(row.reported.get('env_steps', '')))}</td>"
        f"<td style='text-align:left'>{html.escape(', '.join(map(str, row.reported.get('top_k', []))))}</td>"
        "</tr>"
        for row in rows
        if row.is_search and row.result
    )
    searches = (
        f"<h2>Weight-sharing searches</h2><table><tr><th>trial</th><th>search</th><th>children</th>"
        f"<th>env steps</th><th>derived (most likely first)</th></tr>{searched}</table>"
        if searched
        else ""
    )
    level_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(value))}</td>" for value in level.values()) + "</tr>"
        for level in levels(rows)
    )
    grown = (
        f"<h2>Progressive levels</h2><table><tr><th>level</th><th>trials</th><th>best</th><th>best score</th>"
        f"<th>predictor's rank correlation</th></tr>{level_rows}</table>"
        if level_rows
        else ""
    )
    failures = (
        f"<h2>Trials without a score</h2><table><tr><th>trial</th><th>architecture</th><th>status</th>"
        f"<th>reason</th></tr>{failed}</table>"
        if failed
        else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "td:first-child,td:nth-child(2){text-align:left}img{max-width:100%}"
        ".headline{font-size:16px;max-width:900px;line-height:1.4}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='headline'>{html.escape(summary['headline'])}</p>"
        f"<h2>Ranked architectures</h2>{ranked_table(summary, digits)}"
        f"<h2>Search cost so far</h2><ul>{spent}</ul>{pictures}"
        f"<h2>Trials</h2>{trials_table(rows, digits)}{searches}{grown}{failures}"
        "</body></html>"
    )


def write_report(
    rows: list[TrialRow],
    title: str,
    out: Path,
    top_k: int = 5,
    controller_progress: list[dict] | None = None,
    race: dict[str, Any] | None = None,
) -> Path:
    """The report folder: ``report.html``, its plots and ``summary.json``. ``controller_progress``: a
    policy-gradient strategy's updates (:func:`nni_rl_nas.records.controller_progress_of`); ``race``:
    what its race recorded (:func:`nni_rl_nas.records.race_of`)."""
    import matplotlib

    matplotlib.use("Agg")
    summary = experiment_summary(rows, race)
    images = {
        "search_performance.png": plot_search(rows),
        "learning_curves.png": plot_curves(rows, top_k),
        "pareto.png": plot_pareto(summary),
    }
    if any(row.is_search and row.curve for row in rows):
        images["controller_progress.png"] = plot_searches(rows)
    controllers = controller_series(rows, controller_progress or [])
    if controllers:
        images["controller_probabilities.png"] = plot_controller_probabilities(controllers)
    for name, data in images.items():
        write_atomically(out / name, functools.partial(Path.write_bytes, data=data))
    write_json(out / SUMMARY_FILE, summary)
    page = render_html(title, rows, images, summary)
    write_atomically(out / "report.html", lambda target: target.write_text(page))
    return out / "report.html"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
