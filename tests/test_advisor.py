"""NNI's Hyperband as RlNasHyperband: its options, its budgets in env steps, and NNI's bug it works around."""

import pytest
from nni.runtime import msg_dispatcher_base

from nni_rl_nas.advisor import RlNasBohb, RlNasHyperband
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.trial import continuation
from nni_rl_nas.tuner import StrategyStartError

SPACE = {"family": "mlp", "depth": 1, "widths": [16, 32], "activations": ["relu"]}
TASK = {"env": "CartPole-v1", "total_timesteps": 9000}
SEARCHED = {"learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.01]}}


@pytest.fixture
def offline(monkeypatch):
    """An advisor outside NNI: no NNI fixes to check, and NNI's own unit-test channel, which connects nowhere."""
    monkeypatch.setattr("nni_rl_nas.advisor.require_fixes_at_start", lambda: None)
    monkeypatch.setattr(
        msg_dispatcher_base,
        "dispatcher_env_vars",
        msg_dispatcher_base.dispatcher_env_vars._replace(NNI_TUNER_COMMAND_CHANNEL="ws://_unittest_"),
    )


def test_budgets_map_to_env_steps_of_the_task():
    options = parse_class_args({"space": SPACE, "task": TASK, "R": 9, "eta": 3}, "RlNasHyperband").strategy_options
    assert [options.env_steps(r, 9000) for r in (1, 3, 9)] == [1000, 3000, 9000]
    assert options.env_steps(9 / 3**2 * 2, 9000) == 2000  # Hyperband's r = R / eta^s need not be whole


@pytest.mark.parametrize(
    "options, message",
    [
        ({"baselines": ["16-relu"]}, r"tuner.classArgs.baselines: NNI's Hyperband advisor proposes every trial itself"),
        ({"eta": 1}, r"tuner.classArgs.eta: got 1; fix: a whole number >= 2"),
        ({"exec_mode": "eager"}, r"tuner.classArgs.exec_mode: got 'eager'"),
        (
            {"strategy": "RlNasBohb", "max_budget": 1},
            r"tuner.classArgs.max_budget: got 1; fix: a number above min_budget",
        ),
        (
            {"strategy": "RlNasBohb", "min_points_in_model": 2},
            r"tuner.classArgs.min_points_in_model: got 2, but BOHB's "
            r"model needs more results than the search space's 2 "
            r"dimensions; fix: at least 3",
        ),
        (
            {
                "strategy": "RlNasBohb",
                "search_hyperparameters": {"batch_size": {"_type": "quniform", "_value": [16, 64, 16]}},
            },
            r"search_hyperparameters.batch_size: RlNasBohb searches \['choice', 'randint', 'uniform', 'loguniform'\]",
        ),
    ],
)
def test_options_the_advisors_cannot_honour_are_refused(options, message):
    strategy = options.pop("strategy", "RlNasHyperband")
    with pytest.raises(ConfigError, match=message):
        parse_class_args({"space": SPACE, "task": TASK, **options}, strategy)


def test_the_advisor_draws_seeded_points_of_the_space_and_its_hyperparameters(offline):
    draws = []
    for _ in range(2):
        advisor = RlNasHyperband(space=SPACE, task=TASK, search_hyperparameters=SEARCHED, seed=4, R=3, eta=3)
        advisor.handle_update_search_space({})
        advisor.send = lambda command, data: None
        draws.append([advisor._get_one_trial_job()["parameters"] for _ in range(3)])
    assert draws[0] == draws[1] and all(
        set(point) == {"layer1_width", "layer1_activation", "learning_rate", "TRIAL_BUDGET"} for point in draws[0]
    )
    assert not advisor.is_created_in_previous_exp("0-1_0_2"), "NNI 3.0 raised TypeError here (microsoft/nni#5263)"


def test_a_bad_config_fails_the_advisor_at_its_first_command_with_the_reason(offline):
    advisor = RlNasHyperband(space=SPACE, task={**TASK, "env": "NoSuchEnv-v0"})
    with pytest.raises(StrategyStartError, match="task.env: unknown env id 'NoSuchEnv-v0'"):
        advisor.handle_update_search_space({})


def test_bohbs_model_is_built_over_the_space_and_its_hyperparameters_and_proposes(offline):
    """NNI's BOHB with ConfigSpace 1.x: once a budget has enough results, its kernel density model
    proposes; every proposal is a point of the space."""
    advisor = RlNasBohb(space=SPACE, task=TASK, search_hyperparameters=SEARCHED, seed=0, random_fraction=0.0)
    advisor.send = lambda command, data: None
    advisor.handle_initialize({})
    search_space = advisor.spec.meta_search_space
    for index in range(12):
        point = advisor.cg.get_config(1)
        assert search_space.check_hyperparameters(point) == {"learning_rate": point["learning_rate"]}
        advisor.cg.new_result(
            loss=-point["learning_rate"] * (index + 1),
            budget=1,
            parameters={key: value for key, value in point.items() if key != "TRIAL_BUDGET"},
        )
    assert 1 in advisor.cg.kde_models
    proposed = advisor.cg.get_config(1)
    assert set(proposed) == {"layer1_width", "layer1_activation", "learning_rate", "TRIAL_BUDGET"}


def test_each_round_of_a_configuration_saves_where_its_next_round_loads(offline, monkeypatch, tmp_path):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    advisor = RlNasHyperband(space=SPACE, task=TASK, R=3, eta=3)
    advisor.send = lambda command, data: None
    advisor.handle_update_search_space({})
    job = advisor._get_one_trial_job()
    bracket, round_, number = job["parameter_id"].split("_")
    assert round_ == "0" and job["parameters"]["save_checkpoint_dir"] == job["parameters"][
        "load_checkpoint_dir"
    ] == str(tmp_path / "configs" / f"{bracket}_{number}" / "0")
    recorded = advisor.brackets[advisor.curr_bracket_id].hyper_configs[0][job["parameter_id"]]
    assert "save_checkpoint_dir" not in recorded, "the advisor's own record is unchanged"


def test_an_advisors_trial_continues_on_the_sb3_engine_and_starts_over_on_the_batched_one(tmp_path):
    folders = {"save_checkpoint_dir": str(tmp_path / "1"), "load_checkpoint_dir": str(tmp_path / "0")}
    (tmp_path / "0" / "seed_0").mkdir(parents=True)
    (tmp_path / "0" / "seed_0" / "progress.json").write_text('{"env_steps": 3000}')
    for engine, continued in (("sb3", tmp_path / "0"), ("batched", None)):
        task = parse_class_args({"space": SPACE, "task": {**TASK, "engine": engine}}).task
        assert continuation(folders, task, per_generation=False)[1:] == (
            (continued, tmp_path / "1") if continued else (None, None)
        )
