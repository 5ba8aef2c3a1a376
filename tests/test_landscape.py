"""The landscape replay: a search replayed against recorded results proposes what it proposed in a
real run, and a replayed trial is scored and charged as the records say."""

from __future__ import annotations

import functools
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.files import append_json_lines, write_json
from nni_rl_nas.landscape import (
    LANDSCAPE_FILE,
    RECORDS_FILE,
    LandscapeTrials,
    SyntheticLandscape,
    TrialStopped,
    load_landscape,
    replay_search,
)
from nni_rl_nas.strategies import NniTunerStrategy, PolicyGradientStrategy
from nni_rl_nas.strategies.driver import drive
from tests.conftest import class_args

BUDGET, TRIALS = 2000, 6
SPACE = {"family": "mlp", "depth": 2, "widths": [8, 16], "activations": ["relu", "tanh"]}


def tiny_search(raw: dict) -> None:
    raw["searchSpace"] = {
        f"layer{layer}_{decision}": {"_type": "choice", "_value": SPACE[f"{decision}s"]}
        for layer in (1, 2)
        for decision in ("width", "activation")
    }
    raw["tuner"]["name"] = "RlNasPolicyGradient"
    raw["tuner"]["classArgs"] = {
        "seed": 5,
        "controller": {"samples_per_update": 1, "learning_rate": 0.001, "baseline": "ema"},
        "space": SPACE,
        "task": {
            "env": "CartPole-v1",
            "seeds": 1,
            "total_timesteps": BUDGET,
            "report_every": 1000,
            "eval_episodes": 2,
            "score": {"rule": "mean_return", "episodes": 3},
            "hyperparameters": {"learning_starts": 0, "train_freq": 4, "gradient_steps": 1},
        },
    }


def real_trial(config: Path, out: Path, parameters: dict) -> dict:
    """One trial in its own process, as NNI runs it; its record stays in ``out/<architecture>``."""
    from nni_rl_nas.trial import run_trial

    os.environ["NNI_OUTPUT_DIR"] = str(out / parameters["architecture"])
    return run_trial(config, parameters=parameters)


def landscape_of(out: Path, folder: Path) -> None:
    """A one-seed landscape made of the real trials' records."""
    write_json(
        folder / LANDSCAPE_FILE,
        {
            "env": "CartPole-v1",
            "algorithm": "dqn",
            "space": SPACE,
            "seeds": [0],
            "budget": BUDGET,
            "rules": {"mean_return": {"rule": "mean_return"}},
        },
    )
    records = []
    for path in sorted(out.glob("*/trial.json")):
        trial = json.loads(path.read_text())
        records.append(
            {
                "architecture": trial["result"]["architecture"],
                "seed": 0,
                "budget": BUDGET,
                "parameters": trial["result"]["parameters"],
                "solved_at": {},
                "scores": {"mean_return": {"value": trial["result"]["default"]}},
                "curve": trial["curve"],
                "wall_clock_s": trial["result"]["wall_clock_s"],
            }
        )
    append_json_lines(folder / RECORDS_FILE, records)


def policy_gradient(arguments: dict, space) -> PolicyGradientStrategy:
    return PolicyGradientStrategy(**arguments)


def tpe(arguments: dict, space) -> NniTunerStrategy:
    """NNI's TPE: random for its first 2 trials, then led by the scores it was given."""
    return NniTunerStrategy(
        space=arguments["space"],
        task=arguments["task"],
        seed=1,
        algorithm="TPE",
        algorithm_args={"tpe_args": {"n_startup_jobs": 2}},
    )


@pytest.mark.parametrize("make_search", [policy_gradient, tpe])
def test_a_replayed_search_proposes_what_the_real_run_proposed(make_search, write_experiment, tmp_path):
    """A search learns from every score, so its proposals depend on the results: the replay must hand
    it the very results the real trials gave, in the same calls."""
    config = write_experiment(tiny_search)
    arguments = class_args(yaml.safe_load(config.read_text()))
    space = parse_class_args({"space": arguments["space"], "task": arguments["task"]}).build_space()
    real, done = make_search(arguments, space), []
    with ProcessPoolExecutor(1) as pool:  # trials in processes of their own, as NNI runs them
        finished = drive(
            real,
            functools.partial(real_trial, config, tmp_path / "trials"),
            pool,
            keep_proposing=lambda: len(done) < TRIALS,
            on_finish=done.append,
        )
    real_proposals = [trial.parameters["architecture"] for trial in finished]
    assert len(real_proposals) == TRIALS and len({trial.result["default"] for trial in finished}) > 1

    landscape_of(tmp_path / "trials", tmp_path / "landscape")
    log = replay_search(
        make_search(arguments, space),
        LandscapeTrials(load_landscape(tmp_path / "landscape"), "mean_return"),
        env_step_budget=TRIALS * BUDGET,
    )
    assert [trial.architecture for trial in log] == real_proposals
    assert [trial.result["default"] for trial in log] == [trial.result["default"] for trial in finished]


def synthetic_landscape(folder: Path) -> Path:
    """Two architectures, four seeds (search seeds 0 and 1, test seeds 2 and 3); 8-relu_8-relu solves
    on seed 1 at 200 env steps."""
    write_json(
        folder / LANDSCAPE_FILE,
        {
            "env": "CartPole-v1",
            "algorithm": "dqn",
            "space": SPACE,
            "seeds": [0, 1, 2, 3],
            "budget": 1000,
            "rules": {"mean_return": {}, "solved_then_eval": {}},
        },
    )
    records = []
    for architecture, returns in {"8-relu_8-relu": [10, 20, 30, 40], "16-tanh_16-tanh": [100, 5, 7, 8]}.items():
        for seed, final in enumerate(returns):
            solved = 200 if (architecture, seed) == ("8-relu_8-relu", 1) else None
            records.append(
                {
                    "architecture": architecture,
                    "seed": seed,
                    "budget": 1000,
                    "parameters": 42,
                    "solved_at": {"solved_then_eval": solved},
                    "scores": {
                        "mean_return": {"value": final},
                        "solved_then_eval": {"value": final / 30 if solved else 0},
                    },
                    "curve": [
                        {"env_steps": steps, "greedy_return": final * steps / 1000, "wall_clock_s": steps / 100}
                        for steps in (200, 400, 600, 800, 1000)
                    ],
                    "wall_clock_s": 10.0,
                }
            )
    append_json_lines(folder / RECORDS_FILE, records)
    return folder


def test_a_replayed_trial_is_scored_on_the_seeds_its_search_drew_and_charged_what_they_cost(tmp_path):
    landscape = load_landscape(synthetic_landscape(tmp_path))
    assert landscape.true_score("16-tanh_16-tanh", "mean_return") == pytest.approx(30.0)
    assert landscape.ranking("mean_return")[0][0] == "16-tanh_16-tanh"
    assert landscape.search_seeds == [0, 1] and landscape.test_seeds == [2, 3]

    trials = LandscapeTrials(landscape, "mean_return", task_seed=1)  # search seeds 1, then 0
    result = trials({"architecture": "16-tanh_16-tanh", "train_seeds": [0, 1]})
    assert result["seed_scores"] == [5, 100] and result["default"] == 52.5 and result["train_seeds"] == [0, 1]
    assert result["env_steps"] == 2000 and result["wall_clock_s"] == 20.0
    verdict = trials({"architecture": "16-tanh_16-tanh", "train_seeds": [1000, 1001]})
    assert verdict["seed_scores"] == [7, 8]  # the test seeds, which no search seed reaches

    stopping = LandscapeTrials(landscape, "solved_then_eval", task_seed=0, stop_on_solve=True)
    result = stopping({"architecture": "8-relu_8-relu", "train_seeds": [0, 1]})
    assert result["env_steps"] == 1000 + 200 and result["solved_seeds"] == 1 and result["wall_clock_s"] == 12.0

    with pytest.raises(ValueError, match="search seed 2: the landscape holds 2 search seeds; fix: racing.max_seeds"):
        trials({"architecture": "16-tanh_16-tanh", "train_seeds": [2]})
    with pytest.raises(ValueError, match="test seed 1002: the landscape holds 2 test seeds"):
        trials({"architecture": "16-tanh_16-tanh", "train_seeds": [1002]})
    with pytest.raises(ValueError, match="stop_on_solve needs a rule that judges 'solved'; 'mean_return' does not"):
        LandscapeTrials(landscape, "mean_return", stop_on_solve=True)


def test_a_synthetic_twin_keeps_the_recorded_spreads_and_gives_exact_truths(tmp_path):
    rng = np.random.default_rng(0)
    write_json(
        tmp_path / LANDSCAPE_FILE,
        {
            "env": "CartPole-v1",
            "algorithm": "dqn",
            "space": SPACE,
            "seeds": list(range(10)),
            "budget": 1000,
            "rules": {"mean_return": {}},
        },
    )
    means = {
        f"{width}-{activation}_{second}-relu": rng.normal(80, 30)
        for width in (8, 16, 32, 64)
        for activation in ("relu", "tanh")
        for second in (8, 16, 32, 64)
    }
    append_json_lines(
        tmp_path / RECORDS_FILE,
        [
            {
                "architecture": name,
                "seed": seed,
                "budget": 1000,
                "parameters": 42,
                "solved_at": {},
                "wall_clock_s": 1.0,
                "scores": {"mean_return": {"value": float(mean + rng.normal(0, 90))}},
                "curve": [{"env_steps": 1000, "greedy_return": 0.0, "wall_clock_s": 1.0}],
            }
            for name, mean in means.items()
            for seed in range(10)
        ],
    )
    twin = SyntheticLandscape(load_landscape(tmp_path), seed=3, search_seeds=8)
    scores = [[twin.score(name, seed) for seed in range(200)] for name in means]
    assert 70 < np.mean(np.std(scores, axis=1)) < 110  # the recorded seed noise
    assert np.std(list(twin.truth.values())) == pytest.approx(30, rel=0.5)  # and the spread between networks
    assert twin.score("8-relu_8-relu", 7) == SyntheticLandscape(load_landscape(tmp_path), seed=3).score(
        "8-relu_8-relu", 7
    )
    assert twin.truth != SyntheticLandscape(load_landscape(tmp_path), seed=4).truth
    result = LandscapeTrials(twin, "mean_return")({"architecture": "8-relu_8-relu", "train_seeds": [0, 7]})
    assert result["seed_scores"] == [twin.score("8-relu_8-relu", 0), twin.score("8-relu_8-relu", 7)]


class StopAtSecondPoint:
    """An assessor that calls every trial bad once it has two points."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, bool]] = []

    def assess_trial(self, trial_id: str, history: list) -> bool:
        return len(history) < 2

    def trial_end(self, trial_id: str, success: bool) -> None:
        self.ended.append((trial_id, success))


def test_a_trial_the_assessor_stops_ends_without_a_result_and_is_charged_to_where_it_stopped(tmp_path):
    landscape = load_landscape(synthetic_landscape(tmp_path))
    assessor = StopAtSecondPoint()
    trials = LandscapeTrials(landscape, "mean_return", assessor=assessor)
    with pytest.raises(TrialStopped):
        trials({"architecture": "8-relu_8-relu"})
    assert trials.log[-1].result is None and trials.log[-1].env_steps == 400 and assessor.ended == [("0", False)]
