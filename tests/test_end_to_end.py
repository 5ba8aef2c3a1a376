"""The shipped configs through the real nnictl (isolated by :mod:`tests.experiments`)."""

import html
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import load_yaml
from tests.experiments import (
    CREATE_ATTEMPTS,
    TIMEOUT_S,
    check_trial,
    finished_trials,
    free_port,
    rest,
    settled_status,
    start_experiment,
)


@pytest.fixture
def quick_experiment(tmp_path):
    with start_experiment(tmp_path, "quick_cartpole.yml") as experiment:
        yield experiment


@pytest.fixture
def enas_experiment(tmp_path):
    with start_experiment(tmp_path, "quick_enas_cartpole.yml") as experiment:
        yield experiment


def test_quick_cartpole_runs_every_trial_on_its_own_architecture(quick_experiment):
    experiment_id, port, root = quick_experiment
    trials, metrics = finished_trials(experiment_id, port)
    assert len(trials) == 4
    built = {check_trial(trial, metrics, root)["architecture"] for trial in trials}
    assert built == {"16-relu", "16-tanh", "64-relu", "64-tanh"}
    check_reports(experiment_id, port, root, built)


SEARCHED = {
    "learning_rate": {"_type": "loguniform", "_value": [0.0005, 0.005]},
    "exploration_fraction": {"_type": "uniform", "_value": [0.05, 0.3]},
}


def nni_tuner(algorithm: str, algorithm_args: dict | None = None):
    """quick_cartpole.yml under one of NNI's tuners, searching two hyperparameters beside the
    architecture; 6000 env steps a trial (5 curve points), since the test checks what each trial
    trained, not how well."""

    def edit(raw: dict) -> None:
        raw["tuner"]["name"] = "RlNasNniTuner"
        raw["tuner"]["classArgs"].update(
            algorithm=algorithm, algorithm_args=algorithm_args, search_hyperparameters=SEARCHED
        )
        raw["tuner"]["classArgs"]["task"].update(total_timesteps=6000, report_every=1200)
        raw["searchSpace"].update(SEARCHED)

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        nni_tuner("TPE"),  # sequential model-based
        pytest.param(nni_tuner("Evolution", {"population_size": 4}), marks=pytest.mark.slow),  # evolutionary
    ],
    ids=["TPE", "Evolution"],
)
def test_nnis_own_tuners_drive_trials_two_at_a_time_each_on_the_point_nni_shows(tmp_path, edit):
    """Architecture and hyperparameters searched together: each trial's agent trains on what the web UI shows."""
    with start_experiment(tmp_path, "quick_cartpole.yml", edit) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
        assert len(trials) == 4
        built = [check_trial(trial, metrics, root)["architecture"] for trial in trials]
        assert {name.partition(" | ")[0] for name in built} <= {"16-relu", "16-tanh", "64-relu", "64-tanh"}
        assert all(" | learning_rate=" in name for name in built)
        starts = sorted((trial["startTime"], trial["endTime"]) for trial in trials)
        assert any(later[0] < earlier[1] for earlier, later in zip(starts, starts[1:])), "two trials at a time"
        check_reports(experiment_id, port, root, set(built))


def hyperband(raw: dict) -> None:
    """R 3, eta 3: 3 configurations at budget 1 (a third of 20,000 env steps), the best promoted to 3;
    serial, so that the fourth trial is that promotion and not the next bracket's first."""
    raw["tuner"] = {
        "name": "RlNasHyperband",
        "classArgs": {
            **raw["tuner"]["classArgs"],
            "R": 3,
            "eta": 3,
            "exec_mode": "serial",
            "search_hyperparameters": SEARCHED,
        },
    }
    raw["searchSpace"].update(SEARCHED)


@pytest.mark.slow  # tests/test_pbt.py runs two generations without NNI in the default suite
def test_pbt_trials_continue_the_agents_of_the_generation_before(tmp_path):
    """NNI's PBT: each trial saves its agent through NNI's checkpoint folders, and the next
    generation's trials continue them, architecture included, two at a time."""
    with start_experiment(tmp_path, "quick_cartpole.yml", nni_tuner("PBT", {"population_size": 2})) as (
        experiment_id,
        port,
        root,
    ):
        trials, metrics = finished_trials(experiment_id, port, waits_between_rounds=True)
        assert len(trials) == 4
        shown = {trial["trialJobId"]: json.loads(trial["hyperParameters"][0])["parameters"] for trial in trials}
        finals = {trial["trialJobId"]: check_trial(trial, metrics, root, min_curve_points=3) for trial in trials}
        first = {
            parameters["save_checkpoint_dir"]: parameters
            for trial_id, parameters in shown.items()
            if finals[trial_id]["generation"] == 0
        }
        second = [trial_id for trial_id in shown if finals[trial_id]["generation"] == 1]
        assert len(first) == len(second) == 2
        for trial_id in second:
            parent = first[shown[trial_id]["load_checkpoint_dir"]]
            assert shown[trial_id]["layer1_width"] == parent["layer1_width"], "the architecture travels with its agent"
            assert finals[trial_id]["agent_env_steps"] >= 40000 > finals[trial_id]["env_steps"] >= 20000
        starts = sorted((trial["startTime"], trial["endTime"]) for trial in trials)
        assert any(later[0] < earlier[1] for earlier, later in zip(starts, starts[1:])), "two trials at a time"


def bohb(raw: dict) -> None:
    """BOHB's first bracket as Hyperband's above, then the next bracket's first two (its model needs
    more results than these; tests/test_advisor.py builds it)."""
    raw["maxTrialNumber"] = 6
    raw["tuner"] = {
        "name": "RlNasBohb",
        "classArgs": {
            **raw["tuner"]["classArgs"],
            "min_budget": 1,
            "max_budget": 3,
            "eta": 3,
            "search_hyperparameters": SEARCHED,
        },
    }
    raw["searchSpace"].update(SEARCHED)


@pytest.mark.slow  # tests/test_advisor.py builds BOHB offline in the default suite
def test_bohb_gives_trials_budgets_in_env_steps(tmp_path):
    """Multi-fidelity with a model: NNI's own BOHB advisor, two trials at a time."""
    with start_experiment(tmp_path, "quick_cartpole.yml", bohb) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port, waits_between_rounds=True)
        assert len(trials) == 6
        finals = [check_trial(trial, metrics, root, min_curve_points=3) for trial in trials]
        assert {final["fidelity"] for final in finals} == {1 / 3, 1.0}
        for final in finals:  # CartPole's train_freq is 256: SB3 stops at its next rollout's end
            trained = final.get("agent_env_steps", final["env_steps"])  # a promotion continues its agent
            assert final["fidelity"] * 20000 <= trained < final["fidelity"] * 20000 + 256
        check_reports(experiment_id, port, root, {final["architecture"] for final in finals}, min_curve_points=3)


@pytest.mark.slow  # tests/test_advisor.py draws Hyperband's configurations offline in the default suite
def test_hyperband_gives_trials_budgets_in_env_steps_and_promotes_the_best(tmp_path):
    """Multi-fidelity: NNI's own Hyperband advisor, its budgets mapped to env steps, two trials at a time."""
    with start_experiment(tmp_path, "quick_cartpole.yml", hyperband) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port, waits_between_rounds=True)
        assert len(trials) == 4
        finals = sorted(
            (check_trial(trial, metrics, root, min_curve_points=3) for trial in trials),
            key=lambda final: final["fidelity"],
        )
        assert [final["fidelity"] for final in finals] == [1 / 3, 1 / 3, 1 / 3, 1.0]
        # r / R of 20,000 env steps, which SB3 reaches at its next rollout's end (CartPole's train_freq is 256)
        assert all(6667 <= final["env_steps"] < 6667 + 256 for final in finals[:3])
        best = [final for final in finals[:3] if final["default"] == max(final["default"] for final in finals[:3])]
        promoted = finals[3]
        assert promoted["architecture"] in {final["architecture"] for final in best}
        # the promotion continued its first round's agent: it trained only the rest of its budget
        assert 20000 <= promoted["agent_env_steps"] < 20000 + 256
        assert promoted["env_steps"] == promoted["agent_env_steps"] - next(
            final["env_steps"] for final in best if final["architecture"] == promoted["architecture"]
        )
        starts = sorted((trial["startTime"], trial["endTime"]) for trial in trials)
        assert any(later[0] < earlier[1] for earlier, later in zip(starts, starts[1:])), "two trials at a time"
        check_reports(experiment_id, port, root, {final["architecture"] for final in finals}, min_curve_points=3)


def check_reports(
    experiment_id: str, port: int, root: Path, architectures: set[str], min_curve_points: int = 5
) -> None:
    """`nni-rl-nas report` from the REST API and from the stored database: the same ranked table."""
    from nni_rl_nas.cli import main
    from nni_rl_nas.report import ranked, read_database, read_rest_api

    from_api, from_db = read_rest_api(port), read_database(root / "db" / "nni.sqlite")
    assert [(r.architecture, r.score) for r in ranked(from_api)] == [(r.architecture, r.score) for r in ranked(from_db)]
    assert {row.architecture for row in from_db} == architectures
    assert all(len(row.curve) >= min_curve_points for row in from_db)
    out = root / "report"
    assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert all(name in page for name in architectures), "the page names every trial (searches in their own table)"
    assert (out / "search_performance.png").stat().st_size > 0 and (out / "learning_curves.png").stat().st_size > 0


def racing_cartpole(raw: dict) -> None:
    raw["maxTrialNumber"] = 40  # a safety net: the finished tuner ends the experiment
    raw["tuner"]["classArgs"].update(
        racing={"initial_seeds": 1, "max_seeds": 2, "answer_seeds": 2},
        verdict={"test_seeds": 2},
        baselines=["128-relu"],
    )
    raw["tuner"]["classArgs"]["task"].update(total_timesteps=2000, report_every=1000)


def test_a_race_with_a_baseline_and_a_verdict_ends_done_and_its_summary_judges_the_answer(tmp_path):
    """Every trial trains the seeds NNI shows for it, promotions only on seeds the incumbent ran, the
    verdict's test seeds last; the tuner's end makes the experiment DONE; summary.json agrees."""
    with start_experiment(tmp_path, "quick_cartpole.yml", racing_cartpole) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
        assert settled_status(port, "DONE") == "DONE", "the finished tuner ended the experiment"
        finals = [
            check_trial(trial, metrics, root, min_curve_points=2)
            for trial in sorted(trials, key=lambda t: t["sequenceId"])
        ]
        shown = [
            json.loads(trial["hyperParameters"][0])["parameters"]["train_seeds"]
            for trial in sorted(trials, key=lambda t: t["sequenceId"])
        ]
        assert [final["train_seeds"] for final in finals] == shown, "NNI shows the seeds each trial trained"
        search = [final for final in finals if not final["verdict"]]
        assert all(seed < 2 for final in search for seed in final["train_seeds"])
        assert [(final["architecture"], final["train_seeds"]) for final in finals if final["verdict"]][-1][1] == [
            1000,
            1001,
        ]
        assert {final["architecture"] for final in finals[-2:]} >= {"128-relu"}
        from nni_rl_nas.cli import main

        out = root / "report"
        assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["baseline"] == "128-relu" and summary["seeds_used"] == "test" and summary["pairs"] == 2
        assert summary["answer"] == next(
            final["architecture"] for final in finals if final["verdict"] and not final["baseline"]
        )
        low, high = summary["difference"]["ci95"]
        assert summary["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "not distinguishable")
        assert html.escape(summary["headline"]) in (out / "report.html").read_text()


def test_enas_searches_then_retrains_the_derived_architectures(enas_experiment):
    experiment_id, port, root = enas_experiment
    trials, metrics = finished_trials(experiment_id, port)
    finals = [check_trial(trial, metrics, root) for trial in sorted(trials, key=lambda t: t["sequenceId"])]
    searches = [final for final in finals if final["architecture"] == "ENAS search"]
    retrained = [final["architecture"] for final in finals if final["architecture"] != "ENAS search"]
    assert len(searches) == 2, "one search per trial slot"
    assert len(retrained) == len(set(retrained)) == 4, "2 x top_k architectures, each retrained once"
    assert {name for search in searches for name in search["top_k"]} <= set(retrained)
    assert set(retrained) <= {name for search in searches for name in search["ranked"]}
    assert rest(port, "check-status")["status"] == "DONE", "maxTrialNumber reached"


def stop_point(trials: list[dict]) -> bool:
    """A trial has finished: the strategy has results to restore, and NNI may hold a proposal it
    has not submitted yet (which the resumed strategy must hand out again)."""
    return any(trial["status"] == "SUCCEEDED" for trial in trials)


def stop_at_a_finished_trial_then_resume(experiment_id: str, port: int, tmp_path, before_resume=None) -> int:
    """Stop the experiment once a trial has finished, run ``before_resume()``, resume; the new port."""
    deadline = time.monotonic() + TIMEOUT_S
    while not stop_point(rest(port, "trial-jobs")):
        assert time.monotonic() < deadline, "no trial finished"
        time.sleep(1)
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(["nnictl", "stop", experiment_id], capture_output=True, env=env, timeout=120, check=True)
    if before_resume:
        before_resume()
    for _attempt in range(CREATE_ATTEMPTS):
        port = free_port()
        resumed = subprocess.run(
            ["nnictl", "resume", experiment_id, "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if resumed.returncode == 0 and "failed" not in resumed.stdout.lower():
            return port
        subprocess.run(["nnictl", "stop", experiment_id], capture_output=True, env=env, timeout=120)
    pytest.fail(f"nnictl resume failed {CREATE_ATTEMPTS} times:\n{resumed.stdout}\n{resumed.stderr}")


def test_stop_then_resume_trains_every_architecture_once_and_restores_the_strategy(quick_experiment, tmp_path):
    experiment_id, port, root = quick_experiment
    port = stop_at_a_finished_trial_then_resume(experiment_id, port, tmp_path)
    trials, metrics = finished_trials(experiment_id, port)
    built = sorted(check_trial(trial, metrics, root)["architecture"] for trial in trials)
    assert built == ["16-relu", "16-tanh", "64-relu", "64-tanh"], "each architecture trained once across the resume"
    dispatcher_log = (root / "log" / "dispatcher.log").read_text()
    assert "resume: restored RandomStrategy" in dispatcher_log


def test_a_resume_with_no_readable_state_fails_naming_the_file_and_leaves_no_trial_running(quick_experiment, tmp_path):
    """Both saved states truncated while stopped: the experiment ends in ERROR naming the file and
    the fix, and the trials NNI queued to run again end (SYS_CANCELED) instead of staying RUNNING."""
    from nni_rl_nas.cli import main
    from nni_rl_nas.report import read_database

    experiment_id, port, root = quick_experiment
    state_files = [root / "checkpoint" / name for name in ("strategy_state.pt", "strategy_state.previous.pt")]

    def truncate_both():
        for path in state_files:
            path.write_bytes(path.read_bytes()[:40])

    port = stop_at_a_finished_trial_then_resume(experiment_id, port, tmp_path, truncate_both)
    deadline = time.monotonic() + 120
    while (status := rest(port, "check-status"))["status"] != "ERROR" or any(
        trial["status"] in ("RUNNING", "WAITING", "ADD_RESUMED") for trial in rest(port, "trial-jobs")
    ):
        assert time.monotonic() < deadline, (status, rest(port, "trial-jobs"))
        time.sleep(2)
    (error,) = status["errors"]
    assert f"no readable strategy state: {state_files[0]}" in error and f"fix: delete {root / 'checkpoint'}" in error
    statuses = {trial["trialJobId"]: trial["status"] for trial in rest(port, "trial-jobs")}
    assert "SYS_CANCELED" in statuses.values(), "trials running at the stop were queued to run again"
    subprocess.run(
        ["nnictl", "stop", experiment_id],
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
        check=True,
    )
    rows = read_database(root / "db" / "nni.sqlite")
    assert {row.trial_id: row.status for row in rows} == statuses, "the records agree with what NNI showed"
    out = root / "report"
    assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
    assert "RUNNING" not in (out / "report.html").read_text()


def shorter_pg_lunar(raw: dict) -> None:
    """pg_lunar.yml at a few minutes' budget: 4 trials of at most 20000 env steps or 120 s."""
    raw["maxTrialNumber"] = 4
    raw["tuner"]["classArgs"]["task"].update(total_timesteps=20000, max_trial_seconds=120, report_every=5000)
    raw["tuner"]["classArgs"]["controller"]["samples_per_update"] = 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "config_name, edit, trial_count",
    [
        ("pg_lunar.yml", shorter_pg_lunar, 4),
        ("tpe_lunar.yml", None, 6),  # architecture and hyperparameters, as shipped
        ("bohb_lunar.yml", None, 8),  # the same with multi-fidelity, as shipped
        ("pbt_lunar.yml", None, 12),  # the same with NNI's PBT, as shipped
    ],
)
def test_the_lunar_configs_run_end_to_end(tmp_path, config_name, edit, trial_count):
    with start_experiment(tmp_path, config_name, edit) as (experiment_id, port, root):
        trials, metrics = finished_trials(
            experiment_id, port, timeout_s=2400, waits_between_rounds=config_name in ("bohb_lunar.yml", "pbt_lunar.yml")
        )
        # a wide network capped at its time limit may have only the final point of its curve
        finals = [check_trial(trial, metrics, root, min_curve_points=1) for trial in trials]
        assert len(finals) == trial_count
        assert all(final["env_steps"] > 0 for final in finals)
        short = [final for final in finals if final["env_steps"] < 5000]
        assert all(final["capped"] for final in short), "only a capped trial stops before its first report point"
        # the report names a trial as its parameters do, or as its result does where they name none (advisors)
        names = {
            json.loads(trial["hyperParameters"][0])["parameters"].get("architecture", final["architecture"])
            for trial, final in zip(trials, finals)
        }
        check_reports(experiment_id, port, root, names, min_curve_points=1)
        from nni_rl_nas.cli import main

        assert main(["play", str(root), "--episodes", "1"]) == 0  # the best retrained agent plays


@pytest.mark.slow
def test_the_main_job_races_its_candidates_and_judges_its_answer_on_test_seeds(tmp_path):
    """enas_lunar.yml as shipped: the search, the race of its candidates, then the answer and the
    baseline on the test seeds; DONE, and summary.json's verdict follows its interval."""
    verdict_settings = load_yaml("enas_lunar.yml")["tuner"]["classArgs"]["verdict"]
    first, count = verdict_settings["first_test_seed"], verdict_settings["test_seeds"]
    started = time.monotonic()
    with start_experiment(tmp_path, "enas_lunar.yml") as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port, timeout_s=2400)
        assert settled_status(port, "DONE") == "DONE", "the finished tuner ended the experiment"
        took = time.monotonic() - started
        print(f"enas_lunar.yml: create to DONE in {took:.0f} s")
        assert took <= 30 * 60, f"{took:.0f} s: the main job must reach DONE within 30 minutes on 2 cores"
        finals = [
            check_trial(trial, metrics, root, min_curve_points=1)
            for trial in sorted(trials, key=lambda trial: trial["sequenceId"])
        ]
        [search] = [final for final in finals if final["architecture"] == "ENAS search"]
        trained = [final for final in finals if final["architecture"] != "ENAS search"]
        assert all(final["env_steps"] <= len(final["train_seeds"]) * 100_000 for final in trained), (
            "capped by env steps"
        )
        verdict = [final for final in trained if final["verdict"]]
        test_seeds = list(range(first, first + count))  # the config's verdict
        assert sorted((final["architecture"], final["train_seeds"]) for final in verdict) == sorted(
            [
                (next(final["architecture"] for final in verdict if not final["baseline"]), test_seeds),
                ("256-relu_256-relu", test_seeds),
            ]
        )
        answer = next(final["architecture"] for final in verdict if not final["baseline"])
        assert answer in search["ranked"]
        raced = [final for final in trained if not final["verdict"] and final["architecture"] == answer]
        assert sorted(seed for final in raced for seed in final["train_seeds"]) == [0, 1, 2], "3 search seeds"
        from nni_rl_nas.cli import main

        out = root / "report"
        assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert {"answer", "baseline", "verdict", "difference", "probability_of_improvement", "seeds", "signal"} <= set(
            summary
        )
        assert summary["answer"] == answer and summary["baseline"] == "256-relu_256-relu"
        assert summary["seeds_used"] == "test" and summary["pairs"] == count and summary["seeds"][answer] == 3
        low, high = summary["difference"]["ci95"]
        assert summary["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "not distinguishable")
        assert 0 <= summary["probability_of_improvement"] <= 1
        assert html.escape(summary["headline"]) in (out / "report.html").read_text()
        assert main(["play", str(root), "--episodes", "1"]) == 0  # the answer's agent plays


def shorter_pg_digits(raw: dict) -> None:
    raw["maxTrialNumber"] = 4
    raw["tuner"]["classArgs"]["task"]["epochs"] = 3
    raw["tuner"]["classArgs"]["controller"]["samples_per_update"] = 2


def test_pg_digits_trains_cnn_children_through_nnictl(tmp_path):
    with start_experiment(tmp_path, "pg_digits.yml", shorter_pg_digits) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
        finals = [check_trial(trial, metrics, root, min_curve_points=3) for trial in trials]
        assert len(finals) == 4 and len({final["architecture"] for final in finals}) == 4
        assert all(0.0 <= final["val_accuracy"] <= 1.0 and final["epochs"] == 3 for final in finals)


@pytest.mark.slow  # tests/strategies/test_progressive.py grows spaces without NNI in the default suite
@pytest.mark.parametrize(
    "config_name, levels", [("progressive_digits.yml", [18, 3, 3]), ("progressive_lunar.yml", [4, 2, 2, 2])]
)
def test_progressive_configs_grow_networks_level_by_level_through_nnictl(tmp_path, config_name, levels):
    with start_experiment(tmp_path, config_name) as (experiment_id, port, root):
        # between levels NNI says TUNER_NO_MORE_TRIAL with every trial ended; the next level follows
        trials, metrics = finished_trials(experiment_id, port, timeout_s=1800, waits_between_rounds=True)
        finals = [check_trial(trial, metrics, root, min_curve_points=1) for trial in trials]
        grown = [final for final in finals if not final["baseline"]]
        assert [sum(final["level"] == level for final in grown) for level in range(1, len(levels) + 1)] == levels
        assert len({final["architecture"] for final in grown}) == len(grown), "each network trains once"
        depths = [final["architecture"].count("_") + 1 for final in sorted(grown, key=lambda final: final["level"])]
        assert depths == sorted(depths) and depths[-1] == len(levels), "one layer deeper per level"
        assert all(final["predicted_score"] is not None for final in grown if final["level"] > 1)
        # the request NNI made while the level before finished, and that was refused, is filled once
        # the next level starts: two of the last level's trials run at the same time
        last = [trial for trial, final in zip(trials, finals) if final.get("level") == len(levels)]
        spans = sorted((trial["startTime"], trial["endTime"]) for trial in last)
        assert any(later_start < end for (_, end), (later_start, _) in zip(spans, spans[1:])), spans
        names = {final["architecture"] for final in finals}
        check_reports(experiment_id, port, root, names, min_curve_points=1)
        page = (root / "report" / "report.html").read_text()
        assert "Progressive levels" in page and "predicted_score" in page
        assert rest(port, "check-status")["status"] == "DONE", "maxTrialNumber reached: every slot was filled"


def write_fashion_mnist_lookalike(directory: Path, images: int = 300) -> None:
    """Random 28x28 images in FashionMNIST's IDX format: the real files cannot be downloaded here."""
    import gzip

    import numpy as np

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True)
    for name, array in (
        ("train-images-idx3-ubyte.gz", rng.integers(0, 256, (images, 28, 28), dtype=np.uint8)),
        ("train-labels-idx1-ubyte.gz", rng.integers(0, 10, images, dtype=np.uint8)),
    ):
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
        with gzip.open(directory / name, "wb") as handle:
            handle.write(header + array.tobytes())


@pytest.mark.slow  # the IDX reader has its unit test, pg_digits.yml's CNN children run through nnictl by default
def test_pg_fashion_mnist_runs_through_nnictl_on_files_in_its_format(tmp_path):
    write_fashion_mnist_lookalike(tmp_path / "fashion")

    def shorter(raw: dict) -> None:
        raw["maxTrialNumber"] = 2
        raw["tuner"]["classArgs"]["task"].update(epochs=2, data_dir=str(tmp_path / "fashion"), download=False)

    with start_experiment(tmp_path, "pg_fashion_mnist.yml", shorter) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
        finals = [check_trial(trial, metrics, root, min_curve_points=2) for trial in trials]
        assert len(finals) == 2 and all(final["train_images"] == 240 and final["val_images"] == 60 for final in finals)


def tiny_darts(raw: dict) -> None:
    """A DARTS experiment in about a minute: a 512-step search, one retrain seed of 1024 steps."""
    class_args = raw["tuner"]["classArgs"]
    class_args.update(search_timesteps=512)
    class_args["space"].update(channels=[4, 4], nodes=2)
    class_args["task"].update(
        total_timesteps=1024,
        seeds=1,
        report_every=256,
        n_envs=4,
        eval_episodes=2,
        score={"rule": "mean_return", "episodes": 3},
        hyperparameters={
            **class_args["task"].get("hyperparameters", {}),
            **({"n_steps": 64, "batch_size": 64} if class_args["task"]["algorithm"] == "ppo" else {}),
        },
    )


def check_darts_experiment(experiment_id: str, port: int, root: Path, timeout_s: float = TIMEOUT_S) -> list[dict]:
    """Every search trial's curve holds its genotype, and each retrain trial trains a search's derived genotype."""
    trials, metrics = finished_trials(experiment_id, port, timeout_s)
    trials = sorted(trials, key=lambda t: t["sequenceId"])
    finals = [check_trial(trial, metrics, root, min_curve_points=2) for trial in trials]
    searches = [(trial, final) for trial, final in zip(trials, finals) if final["architecture"] == "DARTS search"]
    retrained = [final["architecture"] for final in finals if final["architecture"] != "DARTS search"]
    assert searches and all(len(final["top_k"]) == 1 for _, final in searches)
    assert sorted(retrained) == sorted({final["derived"] for _, final in searches}), (
        "the retrain trials train the derived genotypes, each once"
    )
    for trial, search in searches:
        search_curve = [
            json.loads(json.loads(m["data"]))
            for m in metrics
            if m["trialJobId"] == trial["trialJobId"] and m["type"] == "PERIODICAL"
        ]
        assert search_curve and all(
            {"arch_entropy", "greedy_return", "genotype", "operation_weights"} <= set(point) for point in search_curve
        )
        assert search_curve[-1]["genotype"] == search["derived"]
        if search.get("decisions"):  # sequential selection: every node decided, the genotype held from the last
            last = search["decisions"][-1]["env_steps"]
            assert all(point["genotype"] == search["derived"] for point in search_curve if point["env_steps"] >= last)
    assert rest(port, "check-status")["status"] == "DONE"
    return finals


def test_darts_searches_then_retrains_the_derived_genotype_through_nnictl(tmp_path):
    with start_experiment(tmp_path, "darts_minatar_ppo.yml", tiny_darts) as (experiment_id, port, root):
        check_darts_experiment(experiment_id, port, root)
        check_reports(
            experiment_id,
            port,
            root,
            {json.loads(t["hyperParameters"][0])["parameters"]["architecture"] for t in rest(port, "trial-jobs")},
            min_curve_points=2,
        )


def tiny_off_policy(raw: dict) -> None:
    raw["maxTrialNumber"] = 2
    raw["tuner"]["classArgs"]["task"].update(
        total_timesteps=600,
        seeds=1,
        report_every=300,
        eval_episodes=1,
        score={"rule": "mean_return", "episodes": 2},
        # train every env step: QR-DQN's zoo setting (256) would run past 600
        hyperparameters={"learning_starts": 100, "train_freq": 1, "gradient_steps": 1},
    )


@pytest.mark.parametrize(
    "config_name", ["random_pendulum_sac.yml", "random_pendulum_td3.yml", "random_cartpole_qrdqn.yml"]
)
def test_sac_td3_and_qrdqn_trials_over_the_mlp_space_run_through_nnictl(tmp_path, config_name):
    with start_experiment(tmp_path, config_name, tiny_off_policy) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port)
        finals = [check_trial(trial, metrics, root, min_curve_points=2) for trial in trials]
        assert len(finals) == 2 and all(final["env_steps"] == 600 for final in finals)


def shorter_minatar(raw: dict) -> None:
    """A DARTS MinAtar config at a fraction of its budget: 5000-step searches, 20000 env steps per
    retrained agent, DQN learning from step 1000 so that the search trains the supernet."""
    class_args = raw["tuner"]["classArgs"]
    class_args["task"].update(total_timesteps=20000, report_every=2500)  # a 5000-step search reports twice
    if class_args["task"]["algorithm"] == "dqn":
        class_args["task"]["hyperparameters"]["learning_starts"] = 1000
    if "search_timesteps" in class_args:
        class_args["search_timesteps"] = 5000


def shorter_sac(raw: dict) -> None:
    """random_pendulum_sac.yml at a few minutes' budget: 2 trials of one 10000-step agent."""
    raw["maxTrialNumber"] = 2
    raw["tuner"]["classArgs"]["task"].update(total_timesteps=10000, seeds=1, report_every=2500)


@pytest.mark.slow
@pytest.mark.parametrize(
    "config_name, edit",
    [
        ("darts_minatar_ppo.yml", None),  # as shipped: ~30 min on one core
        ("darts_minatar_dqn.yml", shorter_minatar),
        ("random_pendulum_sac.yml", shorter_sac),
    ],
)
def test_the_pixel_and_continuous_configs_run_end_to_end(tmp_path, config_name, edit):
    with start_experiment(tmp_path, config_name, edit) as (experiment_id, port, root):
        if config_name.startswith("darts"):
            check_darts_experiment(experiment_id, port, root, timeout_s=5400)
            return
        trials, metrics = finished_trials(experiment_id, port, timeout_s=5400)
        finals = [check_trial(trial, metrics, root, min_curve_points=2) for trial in trials]
        assert len(finals) == yaml_trials(edit, config_name)


@pytest.mark.slow
@pytest.mark.parametrize(
    "config_name",
    [
        "tpe_minatar_ppo.yml",
        "random_minatar_ppo.yml",
        "evolution_minatar_ppo.yml",
        "pg_minatar_ppo.yml",
        "progressive_minatar_ppo.yml",
    ],
)
def test_a_search_over_small_frame_encoders_races_its_finalists_with_the_three_hand_designs(tmp_path, config_name):
    """Each multi-trial config over the ``stages`` space as shipped, through nnictl at
    trialConcurrency 2: one search seed per proposal, three finalists on seeds 0-2 beside the hand
    designs on the same seeds, then the answer and the hand designs on the test seeds, and a
    verdict against each hand design."""
    from nni_rl_nas.cli import main
    from nni_rl_nas.spaces.stages import HAND_DESIGNS

    hand_designs = set(HAND_DESIGNS.values())
    with start_experiment(tmp_path, config_name) as (experiment_id, port, root):
        trials, metrics = finished_trials(experiment_id, port, timeout_s=3600)
        assert settled_status(port, "DONE") == "DONE", "the spent budget ended the experiment"
        finals = [check_trial(trial, metrics, root, min_curve_points=2) for trial in trials]
        search_seeds: dict[str, set[int]] = {}
        for final in finals:
            if not final["verdict"]:
                search_seeds.setdefault(final["architecture"], set()).update(final["train_seeds"])
        assert {final["architecture"] for final in finals if final["baseline"]} == hand_designs
        finalists = {name for name, seeds in search_seeds.items() if seeds == {0, 1, 2} and name not in hand_designs}
        assert len(finalists) == 3, search_seeds
        assert all(search_seeds[name] == {0, 1, 2} for name in hand_designs), "paired with the finalists"
        assert all(seeds == {0} for name, seeds in search_seeds.items() if name not in finalists | hand_designs)
        verdict = {final["architecture"]: final["train_seeds"] for final in finals if final["verdict"]}
        out = root / "report"
        assert main(["report", experiment_id, "--experiments-dir", str(root.parent), "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["answer"] in finalists and set(verdict) == hand_designs | {summary["answer"]}
        assert all(seeds == [1000, 1001] for seeds in verdict.values())
        assert {comparison["baseline"] for comparison in summary["baselines"]} == hand_designs
        for comparison in summary["baselines"]:
            assert comparison["seeds_used"] == "test" and comparison["pairs"] == 2
            low, high = comparison["difference"]["ci95"]
            assert comparison["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "not distinguishable")


def yaml_trials(edit, config_name: str) -> int:
    from tests.conftest import load_yaml

    raw = load_yaml(config_name)
    if edit:
        edit(raw)
    return raw["maxTrialNumber"]


@pytest.mark.slow
def test_two_experiments_at_once_from_one_checkout_end_done_with_their_results_apart(tmp_path):
    """Two configs of this checkout, two ports, two working folders: both reach DONE, every trial
    trained the architecture NNI shows for it, and neither experiment holds the other's trials."""

    def renamed(name: str):
        def edit(raw: dict) -> None:
            raw["experimentName"] = name
            raw["tuner"]["classArgs"]["task"].update(total_timesteps=6000, report_every=2000)

        return edit

    # one HOME and one experimentWorkingDirectory, as one user running two experiments
    with (
        start_experiment(tmp_path, "quick_cartpole.yml", renamed("first")) as (first, first_port, first_root),
        start_experiment(tmp_path, "quick_enas_cartpole.yml", renamed("second")) as (second, second_port, second_root),
    ):
        assert first != second and first_port != second_port
        for experiment_id, port, root, count in (
            (first, first_port, first_root, 4),
            (second, second_port, second_root, 6),
        ):
            trials, metrics = finished_trials(experiment_id, port)
            assert rest(port, "check-status")["status"] == "DONE" and len(trials) == count
            finals = [check_trial(trial, metrics, root, min_curve_points=1) for trial in trials]
            recorded = {path.parent.name for path in root.glob("environments/*/trials/*/trial.json")}
            trained = {
                trial["trialJobId"] for trial, final in zip(trials, finals) if final["architecture"] != "ENAS search"
            }
            assert recorded == trained, "each experiment's trained agents, and only they, are in its folder"
