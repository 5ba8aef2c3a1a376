"""Hyperparameters searched beside the architecture (``tuner.classArgs.search_hyperparameters``):
the points strategies propose, what validation refuses, and what a trial's agent trains with."""

import json
import math
import re

import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.resources import estimate_trial_memory
from nni_rl_nas.strategies import GridStrategy, NniTunerStrategy, RandomStrategy
from nni_rl_nas.training import seeds
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args

SPACE = {"family": "mlp", "depth": 1, "widths": [16, 32], "activations": ["relu", "tanh"]}
TASK = {"env": "CartPole-v1", "algorithm": "dqn"}
CONTINUOUS = {
    "learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.01]},
    "batch_size": {"_type": "quniform", "_value": [16, 64, 16]},
    "exploration_fraction": {"_type": "uniform", "_value": [0.05, 0.5]},
    "target_update_interval": {"_type": "randint", "_value": [10, 1000]},
}
CHOICES = {
    "learning_rate": {"_type": "choice", "_value": [0.001, 0.0001]},
    "train_freq": {"_type": "choice", "_value": [1, 4, 16]},
}


def test_a_points_name_reads_back_to_the_point_and_a_baseline_may_name_no_hyperparameter():
    search_space = NniTunerStrategy(space=SPACE, task=TASK, search_hyperparameters=CONTINUOUS).search_space
    point = {
        "layer1_width": 32,
        "layer1_activation": "tanh",
        "learning_rate": 0.00031622776601683794,
        "batch_size": 48.0,
        "exploration_fraction": 0.1,
        "target_update_interval": 250,
    }
    name = search_space.name(point)
    assert name == (
        "32-tanh | learning_rate=0.00031622776601683794, batch_size=48.0, exploration_fraction=0.1, "
        "target_update_interval=250"
    )
    assert search_space.parse_name(name) == point
    assert search_space.parse_name("16-relu") == {"layer1_width": 16, "layer1_activation": "relu"}
    with pytest.raises(ValueError, match="'gamma' is not a searched hyperparameter"):
        search_space.parse_name("16-relu | gamma=0.9")
    with pytest.raises(ValueError, match="learning_rate=0.5 is not one the search gives"):
        search_space.check_hyperparameters({**point, "learning_rate": 0.5})
    assert search_space.nni_search_space() == {
        "layer1_width": {"_type": "choice", "_value": [16, 32]},
        "layer1_activation": {"_type": "choice", "_value": ["relu", "tanh"]},
        **CONTINUOUS,
    }
    assert search_space.size == math.inf


def test_an_nni_tuner_proposes_every_label_inside_its_range():
    strategy = NniTunerStrategy(space=SPACE, task=TASK, search_hyperparameters=CONTINUOUS, algorithm="TPE", seed=1)
    for trial_id in range(12):
        parameters = strategy.ask(trial_id)
        point = {label: parameters[label] for label in strategy.search_space.labels}
        assert strategy.search_space.check_hyperparameters(point).keys() == CONTINUOUS.keys()
        assert parameters["architecture"] == strategy.name_of(point)
        strategy.tell(trial_id, parameters, {"default": -math.log(point["learning_rate"]), "env_steps": 1})
        strategy.tell_end(trial_id, True)
    assert len({record.name for record in strategy.history}) == 12


def test_our_strategies_search_choices_of_hyperparameters_with_the_architecture():
    grid = GridStrategy(space=SPACE, task=TASK, search_hyperparameters=CHOICES)
    assert grid.size == 4 * 2 * 3
    names = []
    while (point := grid.propose(len(names))) is not None:
        names.append(grid.name_of(point))
    assert len(set(names)) == 24 and "16-relu | learning_rate=0.0001, train_freq=16" in names
    random_search = RandomStrategy(space=SPACE, task=TASK, search_hyperparameters=CHOICES, seed=3)
    drawn = [random_search.propose(trial_id) for trial_id in range(24)]
    assert {random_search.name_of(point) for point in drawn} == set(names)
    assert random_search.propose(24) is None


def test_a_baseline_trains_with_the_tasks_hyperparameters_unless_its_name_sets_them():
    strategy = RandomStrategy(
        space=SPACE, task=TASK, search_hyperparameters=CHOICES, baselines=["32-relu", "16-relu | learning_rate=0.001"]
    )
    assert strategy.ask(0) == {
        "layer1_width": 32,
        "layer1_activation": "relu",
        "architecture": "32-relu",
        "baseline": True,
        "train_seeds": [0],
    }
    assert strategy.ask(1)["learning_rate"] == 0.001


def refused(strategy: str, searched: dict, task: dict | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        parse_class_args({"space": SPACE, "task": task or TASK, "search_hyperparameters": searched}, strategy)
    return str(error.value)


@pytest.mark.parametrize(
    "strategy, searched, task, message",
    [
        (
            "RlNasNniTuner",
            {"learnig_rate": {"_type": "uniform", "_value": [0.1, 0.2]}},
            None,
            r"search_hyperparameters: dqn has no option 'learnig_rate'; did you mean 'learning_rate'\? fix: "
            r"search one of",
        ),
        (
            "RlNasNniTuner",
            {"gamma": {"_type": "uniform", "_value": [0.9, 1.1]}},
            None,
            r"search_hyperparameters.gamma: uniform \[0.9, 1.1\] gives 1.1, which gamma does not take "
            r".*fix: a range of "
            r"values gamma takes$",
        ),
        (
            "RlNasNniTuner",
            {"batch_size": {"_type": "uniform", "_value": [16, 64]}},
            None,
            r"search_hyperparameters.batch_size: uniform \[16, 64\] gives 34.3.*fix: a range of values "
            r"batch_size takes, "
            r"e.g. randint, quniform with a whole q, or choice",
        ),
        (
            "RlNasRandom",
            {"train_freq": {"_type": "choice", "_value": [4, 0]}},
            None,
            r"search_hyperparameters.train_freq: choice \[4, 0\] gives 0",
        ),
        (
            "RlNasRandom",
            {"learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.01]}},
            None,
            r"search_hyperparameters.learning_rate: RlNasRandom searches \['choice'\] hyperparameters, "
            r"got 'loguniform'; "
            r"fix: a choice of values .*or RlNasNniTuner",
        ),
        (
            "RlNasEnas",
            {"learning_rate": {"_type": "choice", "_value": [0.001, 0.0001]}},
            None,
            r"RlNasEnas searches no hyperparameters: its search trains one supernet under one set of hyperparameters",
        ),
        (
            "RlNasNniTuner",
            {"learning_rate": {"_type": "normal", "_value": [0.001, 0.0001]}},
            None,
            r"search_hyperparameters: search space \"learning_rate\" has unsupported type "
            r"\"normal\".*fix: NNI's search "
            r"space format",
        ),
        ("RlNasNniTuner", {"learning_rate": [0.001, 0.0001]}, None, r"is a list, expect a dict"),
        (
            "RlNasNniTuner",
            {"learning_rate": {"_type": "loguniform", "_value": [float("nan"), 0.001]}},
            None,
            r"search_hyperparameters.learning_rate: loguniform \[nan, 0.001\] has the bound nan; fix: finite numbers",
        ),
        (
            "RlNasRandom",
            {"n_quantiles": {"_type": "choice", "_value": [10, 50]}},
            {"env": "CartPole-v1", "algorithm": "qrdqn"},
            r"search_hyperparameters.n_quantiles: sizes the network's output.*fix: set it in task.hyperparameters",
        ),
        (
            "RlNasRandom",
            {"optimize_memory_usage": {"_type": "choice", "_value": [True, False]}},
            {**TASK, "engine": "batched"},
            r"optimize_memory_usage: choice \[True, False\] gives True: .*the batched engine "
            r"does not implement",
        ),
        (
            "RlNasRandom",
            {"layer1_width": {"_type": "choice", "_value": [8]}},
            None,
            r"\['layer1_width'\] are also labels of the space's choices",
        ),
    ],
)
def test_validation_refuses_a_hyperparameter_the_search_cannot_give_the_agent(strategy, searched, task, message):
    assert re.search(message, refused(strategy, searched, task))


def test_the_memory_estimate_takes_the_largest_searched_buffer():
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": TASK,
            "search_hyperparameters": {"buffer_size": {"_type": "choice", "_value": [1000, 2_000_000]}},
        },
        "RlNasRandom",
    )
    assert "replay buffer of 2,000,000 transitions" in estimate_trial_memory(spec).describe()


def test_a_trial_trains_its_agent_with_the_searched_hyperparameters(write_experiment, tmp_path, monkeypatch):
    def search_some(raw):
        raw["tuner"]["name"] = "RlNasNniTuner"
        class_args(raw)["search_hyperparameters"] = CONTINUOUS
        class_args(raw)["task"].update(
            total_timesteps=600, report_every=300, score={"rule": "mean_return", "episodes": 2}
        )
        raw["searchSpace"] = {}

    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    built = []
    monkeypatch.setattr(seeds, "build_agent", lambda *args: built.append(real_build_agent(*args)) or built[-1])
    point = {
        "layer1_width": 16,
        "layer1_activation": "relu",
        "learning_rate": 0.00123,
        "batch_size": 32.0,
        "exploration_fraction": 0.3,
        "target_update_interval": 77,
    }
    result = run_trial(write_experiment(search_some), parameters=point)
    (agent,) = built
    assert (agent.learning_rate, agent.batch_size, agent.exploration_fraction, agent.target_update_interval) == (
        0.00123,
        32,
        0.3,
        77,
    )
    assert isinstance(agent.batch_size, int), "quniform's 32.0 reaches SB3 as a whole number"
    record = json.loads((tmp_path / "out" / "trial.json").read_text())
    assert (
        record["hyperparameters"]
        == result["hyperparameters"]
        == {"learning_rate": 0.00123, "batch_size": 32, "exploration_fraction": 0.3, "target_update_interval": 77}
    )
    assert record["task"]["hyperparameters"].items() >= record["hyperparameters"].items()
    assert result["architecture"].startswith("16-relu | learning_rate=0.00123, batch_size=32.0")


real_build_agent = seeds.build_agent
