"""The answer rule and summary.json: `better` only on an interval above 0, else what the seeds could tell."""

import json

import numpy as np
import pytest

from nni_rl_nas.report import TrialRow, experiment_summary, write_report

SUMMARY_KEYS = {"answer", "baseline", "verdict", "difference", "probability_of_improvement", "seeds", "signal"}


def trial(trial_id, name, seeds, scores, baseline=False, verdict=False, parameters=1000):
    return TrialRow(
        trial_id,
        len(trial_id),
        "SUCCEEDED",
        name,
        {
            "default": float(np.mean(scores)),
            "seed_scores": list(scores),
            "train_seeds": list(seeds),
            "parameters": parameters,
            "verdict": verdict,
            "solved_seeds": 0,
        },
        baseline=baseline,
        verdict=verdict,
    )


def search_rows(rng):
    rows = [trial("b0", "256-relu_256-relu", range(4), rng.normal(150, 60, 4), baseline=True, parameters=69_000)]
    for index, name in enumerate(["64-tanh_128-relu", "32-relu_32-relu", "16-relu_16-relu"]):
        rows.append(trial(f"s{index}", name, range(4), rng.normal(150, 60, 4), parameters=[10_000, 2_000, 600][index]))
    return rows


def test_an_answer_better_on_the_test_seeds_is_called_better():
    rng = np.random.default_rng(0)
    test = rng.normal(150, 60, 8)
    rows = search_rows(rng) + [
        trial(
            "v0",
            "64-tanh_128-relu",
            range(1000, 1008),
            test + 80 + rng.normal(0, 5, 8),
            verdict=True,
            parameters=10_000,
        ),
        trial("v1", "256-relu_256-relu", range(1000, 1008), test, baseline=True, verdict=True, parameters=69_000),
    ]
    summary = experiment_summary(rows)
    assert SUMMARY_KEYS <= set(summary)
    assert summary["answer"] == "64-tanh_128-relu" and summary["verdict"] == "better"
    assert summary["seeds_used"] == "test" and summary["difference"]["ci95"][0] > 0
    assert summary["seeds"]["64-tanh_128-relu"] == 4 and summary["test_seeds"]["64-tanh_128-relu"] == 8
    assert summary["headline"].startswith("64-tanh_128-relu beats the baseline 256-relu_256-relu: +78.7 (95% CI +75.9")


def test_an_answer_no_better_says_so_with_what_the_seeds_could_detect_and_the_cheapest_not_worse():
    rng = np.random.default_rng(1)
    rows = search_rows(rng) + [
        trial("v0", "64-tanh_128-relu", range(1000, 1004), rng.normal(150, 60, 4), verdict=True, parameters=10_000),
        trial(
            "v1",
            "256-relu_256-relu",
            range(1000, 1004),
            rng.normal(150, 60, 4),
            baseline=True,
            verdict=True,
            parameters=69_000,
        ),
    ]
    summary = experiment_summary(rows)
    low, high = summary["difference"]["ci95"]
    assert summary["verdict"] == "not distinguishable" and low <= 0 <= high
    assert summary["detectable_difference"] > 50 and summary["seeds_for_10_percent"] > 4
    cheapest = summary["cheapest_not_worse"]
    assert cheapest["parameters"] == min(
        row["parameters"]
        for row in summary["architectures"]
        if row["architecture"] in (cheapest["architecture"], "64-tanh_128-relu")
    )
    assert summary["headline"].startswith("No network beat the baseline 256-relu_256-relu at this budget")
    assert "could detect a difference of" in summary["headline"] and cheapest["architecture"] in summary["headline"]


def test_a_worse_answer_is_called_worse():
    rows = [
        trial("b", "256-relu_256-relu", range(5), [200, 210, 190, 205, 195], baseline=True),
        trial("a", "16-relu_16-relu", range(5), [100, 105, 95, 90, 110]),
    ]
    summary = experiment_summary(rows)
    assert summary["verdict"] == "worse" and summary["difference"]["ci95"][1] < 0


def test_without_test_seeds_the_search_seeds_judge_and_the_headline_says_the_interval_is_optimistic():
    summary = experiment_summary(search_rows(np.random.default_rng(2)))
    assert summary["seeds_used"] == "search"
    assert "These seeds also chose the answer" in summary["headline"]


def test_the_race_recorded_answer_wins_over_the_best_mean_and_untrusted_records_are_skipped():
    rows = search_rows(np.random.default_rng(3))
    rows.append(
        TrialRow(
            "x",
            9,
            "SUCCEEDED",
            "128-relu_128-relu",
            {"default": 900.0, "seed_scores": ["<b>", 2], "train_seeds": [0, 1]},
        )
    )
    summary = experiment_summary(rows, {"answer": "32-relu_32-relu", "aggregate": "<script>"})
    assert summary["answer"] == "32-relu_32-relu" and summary["aggregate"] == "mean"
    assert "128-relu_128-relu" not in summary["seeds"]


def test_the_signal_comes_from_the_multi_seed_trials():
    rng = np.random.default_rng(4)
    rows = [
        trial(f"t{index}", f"{16 * (index + 1)}-relu", range(6), rng.normal(10 * index, 90, 6)) for index in range(12)
    ]
    signal = experiment_summary(rows)["signal"]
    assert 60 < signal["between_seeds_sd"] < 120 and signal["architectures"] == 12


def test_the_report_writes_summary_json_and_leads_with_the_headline(tmp_path):
    rows = search_rows(np.random.default_rng(5))
    page = write_report(rows, "report", tmp_path).read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert page.index("class='headline'") < page.index("Ranked architectures") < page.index("<h2>Trials</h2>")
    assert "(answer)" in page and "(baseline)" in page


@pytest.mark.parametrize("verdict_name", ["better", "worse", "not distinguishable"])
def test_the_verdict_always_agrees_with_its_interval(verdict_name):
    shift = {"better": 100.0, "worse": -100.0, "not distinguishable": 0.0}[verdict_name]
    rng = np.random.default_rng(6)
    base = rng.normal(150, 40, 6)
    rows = [
        trial("b", "256-relu_256-relu", range(6), base, baseline=True),
        trial("a", "16-relu_16-relu", range(6), base + shift + rng.normal(0, 20, 6)),
    ]
    summary = experiment_summary(rows)
    low, high = summary["difference"]["ci95"]
    assert summary["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "not distinguishable")
    assert summary["verdict"] == verdict_name
