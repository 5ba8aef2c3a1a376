import pytest
from nni import NoMoreTrialError

from nni_rl_nas.strategies import GridSearch, RandomSearch, resolve_strategy

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}


def test_short_and_class_names_resolve_to_the_strategy():
    assert resolve_strategy("RlNasRandom") is RandomSearch
    assert resolve_strategy("rlnasgrid") is GridSearch
    assert resolve_strategy("nni_rl_nas.strategies.random_search.RandomSearch") is RandomSearch


def test_grid_enumerates_every_architecture_once_then_stops():
    grid = GridSearch(**ARGS)
    names = [grid.generate_parameters(i)["architecture"] for i in range(100)]
    assert len(set(names)) == 100
    assert names[0] == "64-sigmoid_64-sigmoid" and names[-1] == "2048-relu_2048-relu"
    with pytest.raises(NoMoreTrialError):
        grid.generate_parameters(100)


def test_random_search_never_repeats_and_is_reproducible():
    first = RandomSearch(**ARGS, seed=3)
    second = RandomSearch(**ARGS, seed=3)
    names = [first.generate_parameters(i)["architecture"] for i in range(100)]
    assert len(set(names)) == 100
    assert [second.generate_parameters(i)["architecture"] for i in range(5)] == names[:5]
    assert names[:5] != [RandomSearch(**ARGS, seed=4).generate_parameters(i)["architecture"] for i in range(5)]
    with pytest.raises(NoMoreTrialError):
        first.generate_parameters(100)


def test_results_and_failures_are_recorded_against_the_right_architecture():
    strategy = RandomSearch(**ARGS)
    p0, p1 = strategy.generate_parameters(0), strategy.generate_parameters(1)
    strategy.receive_trial_result(1, p1, {"default": 7.5, "env_steps": 10})
    strategy.trial_end(1, success=True)
    strategy.trial_end(0, success=False)
    assert [(r.parameter_id, r.name, r.score) for r in strategy.history] == [
        (1, p1["architecture"], 7.5), (0, p0["architecture"], None)]
    assert strategy.history[0].result["env_steps"] == 10


def test_parameters_carry_the_choices_and_a_readable_name():
    parameters = GridSearch(**ARGS).generate_parameters(0)
    assert parameters == {"layer1_width": 64, "layer1_activation": "sigmoid", "layer2_width": 64,
                          "layer2_activation": "sigmoid", "architecture": "64-sigmoid_64-sigmoid"}
