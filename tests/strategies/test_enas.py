"""The ENAS strategy's two phases, driven the way NNI drives a tuner."""

import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.strategies import EnasStrategy, NothingToPropose

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}


def test_search_trials_first_then_the_derived_architectures_each_once():
    enas = EnasStrategy(**ARGS, seed=7, searches=2, top_k=2)
    first, second = enas.ask(0), enas.ask(1)
    assert (first["phase"], first["search_seed"]) == ("search", 7)
    assert (second["phase"], second["search_seed"]) == ("search", 8)
    with pytest.raises(NothingToPropose):  # nothing derived yet; NNI asks again when a trial ends
        enas.ask(2)

    enas.tell(
        1,
        second,
        {
            "default": 150.0,
            "top_k": ["256-relu_256-relu", "64-relu_64-relu"],
            "ranked": ["256-relu_256-relu", "64-relu_64-relu", "64-relu_128-relu"],
        },
    )
    enas.tell_end(1, success=True)
    assert enas.ask(3)["architecture"] == "256-relu_256-relu"
    # the other search shares one of its top 2: its next most likely stands in, so 2 x 2 are retrained
    enas.tell(
        0,
        first,
        {
            "default": 120.0,
            "top_k": ["64-relu_64-relu", "128-relu_64-relu"],
            "ranked": ["64-relu_64-relu", "128-relu_64-relu", "256-relu_256-relu", "1024-relu_64-relu"],
        },
    )
    enas.tell_end(0, success=True)
    assert [enas.ask(i)["architecture"] for i in (4, 5, 6)] == [
        "64-relu_64-relu",
        "128-relu_64-relu",
        "1024-relu_64-relu",
    ]
    with pytest.raises(NothingToPropose):
        enas.ask(7)


def test_retrain_results_are_recorded_and_search_results_are_not_scores():
    enas = EnasStrategy(**ARGS, top_k=1)
    search = enas.ask(0)
    enas.tell(0, search, {"default": 99.0, "top_k": ["1024-relu_256-relu"]})
    retrain = enas.ask(1)
    enas.tell(1, retrain, {"default": 7.5})
    enas.tell_end(1, success=True)
    assert [(r.name, r.score) for r in enas.history] == [("1024-relu_256-relu", 7.5)]


def test_a_failed_search_ends_the_search_without_crashing_the_strategy():
    enas = EnasStrategy(**ARGS)
    enas.ask(0)
    enas.tell_end(0, success=False)
    with pytest.raises(NothingToPropose):
        enas.ask(1)
    assert enas.history == []


def test_bad_search_options_are_refused():
    with pytest.raises(ConfigError, match="tuner.classArgs.searches: got 0"):
        EnasStrategy(**ARGS, searches=0)
    with pytest.raises(ConfigError, match="tuner.classArgs.child_steps: got 0"):
        EnasStrategy(**ARGS, child_steps=0)
    with pytest.raises(
        ConfigError, match=r"tuner.classArgs.search_timesteps: got 500; fix: a whole number >= child_steps \(1000\)"
    ):
        EnasStrategy(**ARGS, child_steps=1000, search_timesteps=500)
    with pytest.raises(ConfigError, match="tuner.classArgs.search_max_seconds: got -1"):
        EnasStrategy(**ARGS, search_max_seconds=-1)
    with pytest.raises(ConfigError, match="controller: unknown key"):
        EnasStrategy(**ARGS, controller={"learningrate": 0.1})
