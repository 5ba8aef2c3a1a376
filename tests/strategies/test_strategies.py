import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import strategy_name
from nni_rl_nas.strategies import (
    STRATEGIES,
    EnasStrategy,
    GridStrategy,
    NothingToPropose,
    PolicyGradientStrategy,
    RandomStrategy,
)
from nni_rl_nas.tuner import TUNERS

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}


def test_short_and_class_names_name_the_strategy():
    assert strategy_name({"name": "RlNasRandom"}) == "RlNasRandom"
    assert strategy_name({"name": "rlnasgrid"}) == "RlNasGrid"
    assert strategy_name({"className": "nni_rl_nas.tuner.RlNasRandom"}) == "RlNasRandom"
    with pytest.raises(ConfigError, match="did you mean 'RlNasRandom'"):
        strategy_name({"name": "RlNasRandon"})
    with pytest.raises(ConfigError, match="fix: nni_rl_nas.tuner.<strategy>"):
        strategy_name({"className": "nni_rl_nas.strategies.random_search.RandomStrategy"})


def test_every_strategy_has_its_options_its_tuner_or_advisor_its_validator_and_its_search():
    """Each strategy is declared where it is defined (its options subclass, its strategy or advisor
    subclass, a two-phase strategy's search function); the tables derive from those declarations,
    and this checks that they agree."""
    from nni_rl_nas import validator
    from nni_rl_nas.advisor import ADVISORS
    from nni_rl_nas.nni_setup import registered_classes
    from nni_rl_nas.oneshot import SEARCHES
    from nni_rl_nas.options import STRATEGY_OPTIONS, TwoPhaseOptions
    from nni_rl_nas.strategies.two_phase import TwoPhaseStrategy

    assert set(STRATEGY_OPTIONS) == set(STRATEGIES) | set(ADVISORS) and not set(STRATEGIES) & set(ADVISORS)
    assert set(TUNERS) == set(STRATEGIES) and set(registered_classes()) == set(STRATEGY_OPTIONS)
    for name, options in STRATEGY_OPTIONS.items():
        runner = STRATEGIES.get(name) or ADVISORS[name]
        assert runner.options_class is options, name
        assert getattr(validator, validator.validator_name(name)).strategy == name
        two_phase = issubclass(options, TwoPhaseOptions)
        assert two_phase == (name in SEARCHES) == issubclass(runner, TwoPhaseStrategy), name
    for name, tuner in TUNERS.items():
        assert tuner.__name__ == name and tuner.__module__ == "nni_rl_nas.tuner"
        assert tuner.strategy_class is STRATEGIES[name]


def test_grid_enumerates_every_architecture_once_then_stops():
    grid = GridStrategy(**ARGS)
    names = [grid.ask(i)["architecture"] for i in range(100)]
    assert len(set(names)) == 100
    assert names[0] == "64-sigmoid_64-sigmoid" and names[-1] == "2048-relu_2048-relu"
    with pytest.raises(NothingToPropose):
        grid.ask(100)


def test_random_search_never_repeats_and_is_reproducible():
    first = RandomStrategy(**ARGS, seed=3)
    second = RandomStrategy(**ARGS, seed=3)
    names = [first.ask(i)["architecture"] for i in range(100)]
    assert len(set(names)) == 100
    assert [second.ask(i)["architecture"] for i in range(5)] == names[:5]
    assert names[:5] != [RandomStrategy(**ARGS, seed=4).ask(i)["architecture"] for i in range(5)]
    with pytest.raises(NothingToPropose):
        first.ask(100)


def test_results_and_failures_are_recorded_against_the_right_architecture():
    strategy = RandomStrategy(**ARGS)
    p0, p1 = strategy.ask(0), strategy.ask(1)
    strategy.tell(1, p1, {"default": 7.5, "env_steps": 10})
    strategy.tell_end(1, success=True)
    strategy.tell_end(0, success=False)
    assert [(r.parameter_id, r.name, r.score) for r in strategy.history] == [
        (1, p1["architecture"], 7.5),
        (0, p0["architecture"], None),
    ]
    assert strategy.history[0].result["env_steps"] == 10


def test_parameters_carry_the_choices_a_readable_name_and_the_seeds():
    parameters = GridStrategy(**ARGS).ask(0)
    assert parameters == {
        "layer1_width": 64,
        "layer1_activation": "sigmoid",
        "layer2_width": 64,
        "layer2_activation": "sigmoid",
        "architecture": "64-sigmoid_64-sigmoid",
        "train_seeds": [0, 1, 2],
    }  # the per-env default: 3 seeds on LunarLander


@pytest.mark.parametrize("strategy_class", [RandomStrategy, PolicyGradientStrategy, EnasStrategy])
def test_baselines_are_proposed_first_marked_as_such_and_not_learnt_from(strategy_class, monkeypatch):
    options = {"top_k": 2} if strategy_class is EnasStrategy else {}
    strategy = strategy_class(**ARGS, **options, baselines=["256-relu_256-relu"], seed=1)
    learnt = []
    monkeypatch.setattr(strategy, "observe", learnt.append)
    first = strategy.ask(0)
    if strategy_class is EnasStrategy:  # its search trials come before any ordinary trial
        assert first["phase"] == "search"
        strategy.tell(0, first, {"default": 1.0, "top_k": ["64-relu_64-relu", "64-relu_128-relu"], "env_steps": 10})
        first = strategy.ask(1)
    assert first["architecture"] == "256-relu_256-relu" and first["baseline"] is True
    strategy.tell(first_id := (1 if strategy_class is EnasStrategy else 0), first, {"default": 5.0, "env_steps": 10})
    strategy.tell_end(first_id, success=True)
    assert learnt == [] and strategy.history[-1].baseline and strategy.spent()["env_steps"] >= 10
    following = strategy.ask(first_id + 1)
    assert "baseline" not in following
    strategy.tell(first_id + 1, following, {"default": 3.0, "env_steps": 10})
    assert [record.name for record in learnt] == [following["architecture"]]

    resumed = strategy_class(**ARGS, **options, baselines=["256-relu_256-relu"], seed=1)
    resumed.load_state_dict(strategy.state_dict())
    assert "baseline" not in resumed.ask(first_id + 2), "a resumed search does not train its baselines again"
    assert resumed.has_result(first) and not resumed.has_result({**first, "baseline": False})


def test_a_wider_dense_baseline_is_taken_and_one_no_space_of_the_family_holds_is_refused_naming_it():
    narrow = {**ARGS, "space": {"family": "mlp", "widths": [16, 32], "activations": ["tanh"]}}
    assert RandomStrategy(**narrow, baselines=["256-relu_512-relu"]).options.baselines == ["256-relu_512-relu"]
    for outside in ("256-relu_512-relu_64-relu", "256-swish_256-relu"):
        with pytest.raises(
            ConfigError,
            match=rf"tuner.classArgs.baselines: '{outside}' is no architecture of this "
            r"space .*; fix: name one the space holds, or widen "
            r"tuner.classArgs.space \(family mlp, \{.*'widths'",
        ):
            RandomStrategy(**narrow, baselines=[outside])
    with pytest.raises(ConfigError, match=r"tuner.classArgs.baselines: got '256-relu_256-relu'; fix: a list"):
        RandomStrategy(**ARGS, baselines="256-relu_256-relu")


def test_a_running_trials_result_is_recorded_when_nni_hands_its_parameters_over_as_text():
    """After a resume NNI 3.0 may pass a trial's parameters to the tuner as their JSON text."""
    strategy = RandomStrategy(**ARGS, baselines=["256-relu_256-relu"])
    baseline, searched = strategy.ask(0), strategy.ask(1)
    strategy.tell(0, '{"parameter_id": 0, "parameters": "as NNI stored them"}', {"default": 1.0})
    strategy.tell(1, "{}", {"default": 2.0})
    assert [(record.name, record.baseline) for record in strategy.history] == [
        (baseline["architecture"], True),
        (searched["architecture"], False),
    ]
