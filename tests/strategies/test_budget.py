"""A cost budget for the whole search: no new trial once it is spent, across resumes too."""

import pytest
from nni import NoMoreTrialError

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.options import RandomOptions
from nni_rl_nas.strategies import EnasStrategy, NothingToPropose, RandomStrategy
from nni_rl_nas.tuner import TUNERS

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}


def finish(strategy, parameter_id: int, env_steps: int) -> None:
    parameters = strategy.ask(parameter_id)
    strategy.tell(parameter_id, parameters, {"default": 1.0, "env_steps": env_steps})
    strategy.tell_end(parameter_id, success=True)


def test_an_env_step_budget_stops_new_trials_once_finished_trials_spent_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    tuner = TUNERS["RlNasRandom"](**ARGS, budget={"env_steps": 250_000})
    for parameter_id, env_steps in ((0, 100_000), (2, 100_000)):
        parameters = tuner.generate_parameters(parameter_id)
        tuner.receive_trial_result(parameter_id, parameters, {"default": 1.0, "env_steps": env_steps})
        tuner.trial_end(parameter_id, success=True)
        if parameter_id == 0:
            running = tuner.generate_parameters(1)  # 100k spent: trials go on
    tuner.receive_trial_result(1, running, {"default": 0.5, "env_steps": 60_000})  # a running trial still reports
    assert tuner.strategy.spent()["env_steps"] == 260_000
    with pytest.raises(NoMoreTrialError, match=r"budget.env_steps 250000 spent \(260000\)"):
        tuner.generate_parameters(3)

    resumed = TUNERS["RlNasRandom"](**ARGS, budget={"env_steps": 250_000})
    resumed.load_checkpoint()
    assert resumed.strategy.spent()["env_steps"] == 260_000
    with pytest.raises(NoMoreTrialError):
        resumed.generate_parameters(3)


def test_a_wall_clock_budget_counts_time_before_a_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    strategy = RandomStrategy(**ARGS, budget={"wall_clock_s": 3600})
    finish(strategy, 0, 1000)
    state = strategy.state_dict()
    state["spent"]["wall_clock_s"] = 3599.0  # as if the search had run an hour before its stop
    resumed = RandomStrategy(**ARGS, budget={"wall_clock_s": 3600})
    resumed.load_state_dict(state)
    resumed.ask(1)
    resumed._clock -= 2  # two more seconds of this run
    with pytest.raises(NothingToPropose, match="budget.wall_clock_s 3600 spent"):
        resumed.ask(2)


def test_search_trials_count_toward_the_budget():
    enas = EnasStrategy(**ARGS, top_k=1, budget={"env_steps": 50_000})
    search = enas.ask(0)
    enas.tell(0, search, {"default": 9.0, "top_k": ["64-relu_64-relu"], "env_steps": 50_000})
    with pytest.raises(NothingToPropose, match="budget.env_steps"):
        enas.ask(1)


@pytest.mark.parametrize(
    "budget, message",
    [
        ({"env_step": 10}, r"tuner.classArgs.budget: unknown key 'env_step'; did you mean 'env_steps'"),
        (
            {"env_steps": -5},
            r"tuner.classArgs.budget.env_steps: got -5; fix: a whole number >= 1, or null for no limit",
        ),
    ],
)
def test_a_bad_budget_is_refused_with_the_field_and_the_fix(budget, message):
    with pytest.raises(ConfigError, match=message):
        RandomOptions.parse({"budget": budget})
    with pytest.raises(ConfigError, match=message):
        RandomStrategy(**ARGS, budget=budget)
