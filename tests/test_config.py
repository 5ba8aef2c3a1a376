"""Bad input gets an early error naming the field, the bad value and the fix."""

import re

import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import load_experiment, parse_class_args
from tests.conftest import class_args


def test_shipped_quick_config_is_valid(write_experiment):
    experiment = load_experiment(write_experiment())
    assert experiment.strategy_name == "RlNasRandom"
    assert experiment.spec.task.env == "CartPole-v1"


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda raw: class_args(raw)["task"].update(env="LunarLandr-v3"),
            r"task.env: unknown env id 'LunarLandr-v3'.*did you mean 'LunarLander-v3'",
        ),
        (
            lambda raw: class_args(raw)["task"].update(env="no_such_module:Thing-v0"),
            r"task.env: cannot import 'no_such_module' for 'no_such_module:Thing-v0'.*fix: put the module",
        ),
        (
            lambda raw: class_args(raw)["task"].update(env="tests.fault_envs:CartPol-v1"),
            r"task.env: unknown env id 'tests.fault_envs:CartPol-v1'.*did you mean 'CartPole-v1'",
        ),
        (
            lambda raw: class_args(raw)["task"].update(totl_timesteps=5),
            r"task: unknown key 'totl_timesteps'; did you mean 'total_timesteps'",
        ),
        (
            lambda raw: class_args(raw)["space"].update(widths=[]),
            r"space.widths: got \[\]; fix: list at least one, e.g. \[64, 256\]",
        ),
        (
            lambda raw: class_args(raw)["space"].update(activations=["relu", "swish"]),
            r"space.activations: .*fix: distinct names from",
        ),
        (lambda raw: class_args(raw)["space"].update(dept=3), r"space: unknown key 'dept'; did you mean 'depth'"),
        (
            lambda raw: class_args(raw)["task"].update(env="LunarLanderContinuous-v3"),
            r"task.algorithm: 'dqn' acts in Discrete action spaces .* fix: algorithm one of \['ppo', 'sac', 'td3'\]",
        ),
        (
            lambda raw: class_args(raw)["task"].update(env="Blackjack-v1"),
            r"space family 'mlp' needs a flat observation",
        ),
        (
            lambda raw: class_args(raw)["task"].update(hyperparameters={"learnin_rate": 1e-3}),
            r"task.hyperparameters: unknown dqn option 'learnin_rate'",
        ),
        (
            lambda raw: class_args(raw)["task"].update(hyperparameters={"policy_kwargs": {}}),
            r"unknown dqn option 'policy_kwargs'",
        ),
        (lambda raw: class_args(raw)["task"]["score"].update(rule="best"), r"task.score.rule: got 'best'; fix: one of"),
        (
            lambda raw: class_args(raw)["task"].update(eval_episodes=0),
            r"task.eval_episodes: 0, but task.score.solved_on is greedy_eval",
        ),
        (lambda raw: class_args(raw)["task"].update(algorithm="a2c"), r"task.algorithm: got 'a2c'"),
        (
            lambda raw: class_args(raw)["task"].update(device="gpu"),
            r"task.device: got 'gpu'; fix: auto .* cpu, cuda or cuda:N",
        ),
        (
            lambda raw: class_args(raw)["task"].update(max_trial_seconds=0),
            r"task.max_trial_seconds: got 0; fix: a number > 0, or null for no cap",
        ),
        (lambda raw: class_args(raw).update(temperature=2), r"unknown option 'temperature' for RlNasRandom"),
        (
            lambda raw: raw["tuner"].update(name="RlNasRandm"),
            r"tuner.name: got 'RlNasRandm'; did you mean 'RlNasRandom'\?",
        ),
        (lambda raw: raw["searchSpace"].pop("layer1_width"), r"searchSpace: does not match tuner.classArgs.space"),
        (
            lambda raw: raw.update(trialCommand="python train.py"),
            r"trialCommand: got 'python train.py'; fix: 'nni-rl-nas trial experiment.yml'",
        ),
        (lambda raw: raw.update(trialCommand="nni-rl-nas trial other.yml"), r"trialCommand: names 'other.yml'"),
        (
            lambda raw: raw.update(trialConcurency=2),
            r"unknown key 'trialConcurency'; did you mean 'trialConcurrency'\?",
        ),
        (lambda raw: raw.update(trialConcurrency=0), r"trialConcurrency: got 0; fix: a whole number >= 1"),
        (lambda raw: raw.update(maxTrialDuration="10 minutes"), r"maxTrialDuration: got '10 minutes'; fix: a positive"),
    ],
)
def test_bad_input_is_refused_with_field_and_fix(write_experiment, edit, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(write_experiment(edit))


def test_an_env_registered_by_a_module_is_named_module_colon_id():
    task = parse_class_args({"task": {"env": "tests.fault_envs:FaultyCartPole-v0"}}).task
    assert task.solve_threshold == 475
    assert task.make_env().spec.id == "FaultyCartPole-v0"


def test_solved_rule_needs_a_threshold_when_the_env_has_none():
    with pytest.raises(ConfigError, match="task.score.threshold: 'Pendulum-v1' declares no reward_threshold"):
        parse_class_args({"task": {"env": "Pendulum-v1", "score": {"rule": "solved_then_eval"}}})


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "nope.yml")


def test_task_defaults_come_from_the_shipped_per_env_table():
    task = parse_class_args({"task": {"env": "LunarLander-v3", "hyperparameters": {"batch_size": 64}}}).task
    assert task.algorithm_hyperparameters["learning_rate"] == 6.3e-4  # rl-baselines3-zoo's tuned value
    assert task.algorithm_hyperparameters["batch_size"] == 64  # the config overrides key by key
    assert task.budget == task.defaults.total_timesteps == 500_000
    assert task.solve_threshold == 200


def test_nni_class_name_form_names_the_same_strategy(write_experiment):
    def by_class_name(raw):
        raw["tuner"] = {
            "className": "nni_rl_nas.tuner.RlNasGrid",
            "codeDirectory": ".",
            "classArgs": raw["tuner"]["classArgs"],
        }

    assert load_experiment(write_experiment(by_class_name)).strategy_name == "RlNasGrid"


def test_a_short_name_that_nni_does_not_know_yet_asks_for_setup(write_experiment, monkeypatch):
    from nni_rl_nas import experiment

    monkeypatch.setattr(experiment, "get_algo_meta", lambda name: None)
    with pytest.raises(ConfigError, match=r"tuner.name: 'RlNasRandom' is not registered .* run `nni-rl-nas setup`"):
        load_experiment(write_experiment())


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path):
    config = tmp_path / "experiment.yml"
    config.write_text("trialConcurrency: 2\ntuner:\n\tname: RlNasRandom\n")
    with pytest.raises(
        ConfigError,
        match=rf"{config}:3:1: not valid YAML: found character '\\t' .*"
        r"fix: correct the YAML there \(indent with spaces, not tabs\)",
    ):
        load_experiment(config)


@pytest.mark.parametrize(
    "edit, warning",
    [
        (
            lambda raw: class_args(raw)["task"].update(report_every=30000),
            r"task.report_every \(30000\) exceeds the budget \(20000 env steps per agent\)",
        ),
        (
            lambda raw: class_args(raw)["task"].update(hyperparameters={"learning_starts": 20000}),
            r"task.hyperparameters.learning_starts \(20000\) is not below the budget .* the agent never trains",
        ),
        (
            lambda raw: class_args(raw)["task"].update(max_trial_seconds=60),
            r"task.max_trial_seconds \(60\) caps trials by wall-clock",
        ),
    ],
)
def test_fields_valid_alone_but_odd_together_are_warned_about(write_experiment, edit, warning):
    assert load_experiment(write_experiment()).warnings == ()
    warnings = load_experiment(write_experiment(edit)).warnings
    assert len(warnings) == 1 and re.search(warning, warnings[0])
