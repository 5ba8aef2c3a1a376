"""A cost budget for the whole search: no new trial once it is spent, across resumes too."""

import pytest
from nni import NoMoreTrialError

from nni_rl_nas.config import ConfigError
from nni_rl_nas.strategies import ENAS, RandomSearch

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}


def finish(strategy, parameter_id: int, env_steps: int) -> None:
    parameters = strategy.generate_parameters(parameter_id)
    strategy.receive_trial_result(parameter_id, parameters, {"default": 1.0, "env_steps": env_steps})
    strategy.trial_end(parameter_id, success=True)


def test_an_env_step_budget_stops_new_trials_once_finished_trials_spent_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    strategy = RandomSearch(**ARGS, budget={"env_steps": 250_000})
    finish(strategy, 0, 100_000)
    running = strategy.generate_parameters(1)  # 100k spent: trials go on
    finish(strategy, 2, 100_000)
    strategy.receive_trial_result(1, running, {"default": 0.5, "env_steps": 60_000})  # a running trial still reports
    assert strategy.spent()["env_steps"] == 260_000
    with pytest.raises(NoMoreTrialError, match=r"budget.env_steps 250000 spent \(260000\)"):
        strategy.generate_parameters(3)

    resumed = RandomSearch(**ARGS, budget={"env_steps": 250_000})
    resumed.load_checkpoint()
    assert resumed.spent()["env_steps"] == 260_000
    with pytest.raises(NoMoreTrialError):
        resumed.generate_parameters(3)


def test_a_wall_clock_budget_counts_time_before_a_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    strategy = RandomSearch(**ARGS, budget={"wall_clock_s": 3600})
    finish(strategy, 0, 1000)
    state = strategy.state_dict()
    state["spent"]["wall_clock_s"] = 3599.0  # as if the search had run an hour before its stop
    resumed = RandomSearch(**ARGS, budget={"wall_clock_s": 3600})
    resumed.load_state_dict(state)
    resumed.generate_parameters(1)
    resumed._clock -= 2  # two more seconds of this run
    with pytest.raises(NoMoreTrialError, match="budget.wall_clock_s 3600 spent"):
        resumed.generate_parameters(2)


def test_search_trials_count_toward_the_budget():
    enas = ENAS(**ARGS, top_k=1, budget={"env_steps": 50_000})
    search = enas.generate_parameters(0)
    enas.receive_trial_result(0, search, {"default": 9.0, "top_k": ["64-relu_64-relu"], "env_steps": 50_000})
    with pytest.raises(NoMoreTrialError, match="budget.env_steps"):
        enas.generate_parameters(1)


@pytest.mark.parametrize("budget, message", [
    ({"env_step": 10}, r"tuner.classArgs.budget: unknown key 'env_step'; did you mean 'env_steps'"),
    ({"env_steps": -5}, r"tuner.classArgs.budget.env_steps: got -5; fix: a number > 0, or null for no limit"),
])
def test_a_bad_budget_is_refused_with_the_field_and_the_fix(budget, message):
    with pytest.raises(ConfigError, match=message):
        RandomSearch.check_options({"budget": budget})
    with pytest.raises(ConfigError, match=message):
        RandomSearch(**ARGS, budget=budget)
