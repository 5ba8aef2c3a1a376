"""NNI's Hyperband as RlNasHyperband: its options, its budgets in env steps, and NNI's bug it works around."""

import pytest
from nni.runtime import msg_dispatcher_base

from nni_rl_nas.advisor import RlNasHyperband
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.tuner import StrategyStartError

SPACE = {"family": "mlp", "depth": 1, "widths": [16, 32], "activations": ["relu"]}
TASK = {"env": "CartPole-v1", "total_timesteps": 9000}
SEARCHED = {"learning_rate": {"_type": "loguniform", "_value": [0.0001, 0.01]}}


@pytest.fixture
def offline(monkeypatch):
    """An advisor outside NNI: no NNI fixes to check, and NNI's own unit-test channel, which connects nowhere."""
    monkeypatch.setattr("nni_rl_nas.advisor.require_nni_fixes", lambda: None)
    monkeypatch.setattr(msg_dispatcher_base, "dispatcher_env_vars",
                        msg_dispatcher_base.dispatcher_env_vars._replace(NNI_TUNER_COMMAND_CHANNEL="ws://_unittest_"))


def test_budgets_map_to_env_steps_of_the_task():
    options = parse_class_args({"space": SPACE, "task": TASK, "R": 9, "eta": 3}, "RlNasHyperband").strategy_options
    assert [options.env_steps(r, 9000) for r in (1, 3, 9)] == [1000, 3000, 9000]
    assert options.env_steps(9 / 3 ** 2 * 2, 9000) == 2000  # Hyperband's r = R / eta^s need not be whole


@pytest.mark.parametrize("options, message", [
    ({"baselines": ["16-relu"]}, r"tuner.classArgs.baselines: NNI's Hyperband advisor proposes every trial itself"),
    ({"eta": 1}, r"tuner.classArgs.eta: got 1; fix: a whole number >= 2"),
    ({"exec_mode": "eager"}, r"tuner.classArgs.exec_mode: got 'eager'"),
])
def test_options_hyperband_cannot_honour_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        parse_class_args({"space": SPACE, "task": TASK, **options}, "RlNasHyperband")


def test_the_advisor_draws_seeded_points_of_the_space_and_its_hyperparameters(offline):
    draws = []
    for _ in range(2):
        advisor = RlNasHyperband(space=SPACE, task=TASK, search_hyperparameters=SEARCHED, seed=4, R=3, eta=3)
        advisor.handle_update_search_space({})
        advisor.send = lambda command, data: None
        draws.append([advisor._get_one_trial_job()["parameters"] for _ in range(3)])
    assert draws[0] == draws[1] and all(set(point) == {"layer1_width", "layer1_activation", "learning_rate",
                                                        "TRIAL_BUDGET"} for point in draws[0])
    assert not advisor.is_created_in_previous_exp("0-1_0_2"), "NNI 3.0 raised TypeError here (microsoft/nni#5263)"


def test_a_bad_config_fails_the_advisor_at_its_first_command_with_the_reason(offline):
    advisor = RlNasHyperband(space=SPACE, task={**TASK, "env": "NoSuchEnv-v0"})
    with pytest.raises(StrategyStartError, match="task.env: unknown env id 'NoSuchEnv-v0'"):
        advisor.handle_update_search_space({})
