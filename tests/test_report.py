"""`nni-rl-nas report` treats NNI's records as untrusted text: every string it writes into the page is escaped."""

import json
import math
import sqlite3

import pytest

from nni_rl_nas.records import CONTROLLER_PROGRESS_FILE, controller_progress_of
from nni_rl_nas.report import (
    TrialRow,
    controller_series,
    levels,
    pareto_front,
    ranked,
    read_database,
    render_html,
    write_report,
)

MARKUP = "<script>alert(1)</script>"


def test_every_string_from_the_records_is_escaped_in_the_page():
    rows = [
        TrialRow(f"t1{MARKUP}", 0, "SUCCEEDED", f"64-relu{MARKUP}", {"default": 1.5, "device": MARKUP}),
        TrialRow(f"t2{MARKUP}", 1, f"FAILED{MARKUP}", f"16-relu{MARKUP}", None, reason=f"raised {MARKUP}"),
        TrialRow(
            f"t3{MARKUP}",
            2,
            "SUCCEEDED",
            f"ENAS search 0{MARKUP}",
            {"default": math.nan, "children": MARKUP, "env_steps": MARKUP, "top_k": [MARKUP]},
            phase="search",
        ),
    ]
    page = render_html(f"report {MARKUP}", rows, {MARKUP: b""})
    assert "<script>" not in page
    assert page.count("&lt;script&gt;") >= 12, "every table cell that came from the records is there, escaped"


def test_search_trials_are_not_ranked_among_the_trained_architectures():
    rows = [
        TrialRow("a", 0, "SUCCEEDED", "ENAS search 0", {"default": math.nan}, phase="search"),
        TrialRow("b", 1, "SUCCEEDED", "64-relu_64-relu", {"default": 2.0}),
    ]
    assert [row.trial_id for row in ranked(rows)] == ["b"]


def test_a_rerun_trials_curve_replaces_the_killed_runs_points(tmp_path):
    """NNI's database after a resume: the killed run's intermediate results (sequences 0-2), then the
    rerun's (0-1) under the same trial id."""
    database = tmp_path / "nni.sqlite"
    connection = sqlite3.connect(database)
    connection.execute(
        "create table TrialJobEvent (timestamp integer, trialJobId text, event text, data text, "
        "logPath text, sequenceId integer, message text, environmentId text)"
    )
    connection.execute(
        "create table MetricData (timestamp integer, trialJobId text, parameterId text, type text, "
        "sequence integer, data text)"
    )
    parameters = json.dumps({"parameter_id": 0, "parameters": {"architecture": "16-relu"}})
    connection.execute("insert into TrialJobEvent values (0, 't1', 'WAITING', ?, '', 0, '', '')", (parameters,))
    points = [(0, 1.0), (1, 2.0), (2, 3.0), (0, 10.0), (1, 20.0)]
    for timestamp, (sequence, value) in enumerate(points, start=1):
        connection.execute(
            "insert into MetricData values (?, 't1', '0', 'PERIODICAL', ?, ?)",
            (timestamp, sequence, json.dumps(json.dumps({"default": value}))),
        )
    connection.commit()
    connection.close()
    [row] = read_database(database)
    assert [point["default"] for point in row.curve] == [10.0, 20.0]


def test_the_pareto_frontier_keeps_the_points_nothing_cheaper_beats():
    points = [(100, 1.0), (50, 2.0), (200, 3.0), (200, 2.5), (400, 2.9), (50, 0.5)]
    assert pareto_front(points) == [(50, 2.0), (200, 3.0)]


def test_the_page_shows_seed_scores_baselines_and_statuses_as_text_and_every_plot(tmp_path):
    curve = [
        {"default": value, "env_steps": steps, "seed_defaults": [value - 1, value + 1]}
        for steps, value in ((1000, 1.0), (2000, 2.0))
    ]
    rows = [
        TrialRow(
            "a",
            0,
            "SUCCEEDED",
            "64-relu_64-relu",
            {"default": 2.0, "seed_scores": [1.5, 2.5], "parameters": 5000},
            curve,
        ),
        TrialRow(
            "b",
            1,
            "SUCCEEDED",
            "256-relu_256-relu",
            {"default": 1.0, "seed_scores": [0.5, 1.5], "parameters": 70000},
            curve,
            baseline=True,
        ),
        TrialRow("c", 2, "FAILED", "16-relu_16-relu", None),
    ]
    page = write_report(rows, "report", tmp_path).read_text()
    assert "<td>1.5, 2.5</td>" in page and "256-relu_256-relu (baseline)" in page
    assert "by status: FAILED 1, SUCCEEDED 2" in page and "{" not in page.split("<ul>")[1].split("</ul>")[0]
    assert {path.name for path in tmp_path.glob("*.png")} == {
        "search_performance.png",
        "learning_curves.png",
        "pareto.png",
    }


def test_with_a_cost_penalty_trials_rank_by_their_objective_and_the_table_shows_it():
    rows = [
        TrialRow("a", 0, "SUCCEEDED", "256-relu_256-relu", {"default": 210.0, "objective": 161.7}),
        TrialRow("b", 1, "SUCCEEDED", "64-relu_64-relu", {"default": 200.0, "objective": 162.7}),
        TrialRow("c", 2, "SUCCEEDED", "16-relu_16-relu", {"default": 100.0, "objective": 0.0}),
    ]
    assert [row.trial_id for row in ranked(rows)] == ["b", "a", "c"]
    assert "<th>objective</th>" in render_html("t", rows, {})
    assert [
        row.trial_id
        for row in ranked(
            [TrialRow("a", 0, "SUCCEEDED", "x", {"default": 1.0}), TrialRow("b", 1, "SUCCEEDED", "y", {"default": 2.0})]
        )
    ] == ["b", "a"]


def test_controllers_probabilities_over_updates_are_a_heatmap_from_enas_trials_and_the_policy_gradient_file(tmp_path):
    search_curve = [
        {"default": 10.0, "env_steps": steps, "top_probabilities": {"64-relu": p, "16-relu": 1 - p}}
        for steps, p in ((1000, 0.3), (2000, 0.6), (3000, 0.9))
    ]
    rows = [
        TrialRow("s", 0, "SUCCEEDED", "ENAS search 0", {"default": math.nan}, search_curve, phase="search"),
        TrialRow("a", 1, "SUCCEEDED", "64-relu", {"default": 2.0}),
    ]
    progress = [
        {"trials": 5, "top_probabilities": {"64-relu": 0.5, "<b>": "0.2", "x": 7}},
        {"trials": 10, "top_probabilities": "not a mapping"},
    ]
    series = controller_series(rows, progress)
    assert [(title, xs) for title, _, xs, _ in series] == [
        ("ENAS search 0 (trial s)", [1000, 2000, 3000]),
        ("policy-gradient controller", [5, 10]),
    ]
    assert series[0][3][-1] == {"64-relu": 0.9, "16-relu": pytest.approx(0.1)}
    assert series[1][3] == [{"64-relu": 0.5}, {}], "untrusted records: only names with a probability survive"
    write_report(rows, "report", tmp_path, controller_progress=progress)
    assert (tmp_path / "controller_probabilities.png").stat().st_size > 1000


def test_a_damaged_controller_progress_file_gives_no_heatmap_rather_than_a_crash(tmp_path):
    (tmp_path / "checkpoint").mkdir()
    progress = tmp_path / "checkpoint" / CONTROLLER_PROGRESS_FILE
    update = {"trials": 5, "top_probabilities": {"a": 0.5}}
    for text, expected in (("{not json", []), (json.dumps(update), []), (json.dumps([1, "x", update]), [update])):
        progress.write_text(text)
        assert controller_progress_of(tmp_path) == expected
    assert controller_progress_of(tmp_path / "absent") == []


def test_a_progressive_search_shows_each_level_and_how_its_predictions_ranked():
    def grown(trial, name, level, score, predicted):
        return TrialRow(trial, 0, "SUCCEEDED", name, {"default": score, "level": level, "predicted_score": predicted})

    rows = [
        grown("a", "16-relu", 1, 10.0, None),
        grown("b", "64-relu", 1, 30.0, None),
        grown("c", "64-relu_16-relu", 2, 40.0, 35.0),
        grown("d", "64-relu_64-relu", 2, 50.0, 45.0),
        grown("e", "64-relu_64-tanh", 2, 20.0, 15.0),
        TrialRow("f", 5, "SUCCEEDED", "256-relu_256-relu", {"default": 45.0}, baseline=True),
    ]
    assert levels(rows) == [
        {"level": 1, "trials": 2, "best": "64-relu", "best score": 30.0, "predictor rank correlation": None},
        {"level": 2, "trials": 3, "best": "64-relu_64-relu", "best score": 50.0, "predictor rank correlation": 1.0},
    ]
    page = render_html("grown", rows, {})
    assert "Progressive levels" in page and "<th>predicted score</th>" in page
    # with a cost penalty the predictor predicted the objective, which its ranking is compared with
    weighed = [
        TrialRow(row.trial_id, 0, "SUCCEEDED", row.architecture, {**row.result, "objective": -row.result["default"]})
        for row in rows[2:5]
    ]
    assert levels(weighed)[0]["predictor rank correlation"] == -1.0
    assert "Progressive levels" not in render_html("flat", rows[-1:], {}), "no table for a search without levels"
