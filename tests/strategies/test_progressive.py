"""The progressive strategy, driven the way NNI drives it, against a synthetic evaluator whose
score adds up over layers (wider is better, tanh is better), so the best expansions are known.
Trials run two at a time and finish in either order, as at trialConcurrency 2."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from nni import NoMoreTrialError

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.options import PredictorSettings
from nni_rl_nas.predictor import ArchitectureEncoder, EnsemblePredictor
from nni_rl_nas.ranking import rank_correlation
from nni_rl_nas.strategies import NothingToPropose, ProgressiveStrategy
from nni_rl_nas.strategies.driver import drive
from nni_rl_nas.tuner import TUNERS

SPACE = {"family": "mlp", "depth": [1, 2, 3], "widths": [16, 64, 256], "activations": ["relu", "tanh"]}
ARGS = {"space": SPACE, "task": {"env": "LunarLander-v3"}}


def true_score(point: dict) -> float:
    return sum(
        point[f"layer{layer}_width"] / 256 + (point[f"layer{layer}_activation"] == "tanh")
        for layer in range(1, point["depth"] + 1)
    )


def noisy_trial(parameters: dict) -> dict:
    noise = np.random.default_rng(sum(map(ord, parameters["architecture"]))).normal(0, 0.05)
    return {"default": true_score(parameters) + noise, "env_steps": 1000, **parameters.get("proposal", {})}


def grow(seed: int = 0, **options):
    strategy = ProgressiveStrategy(**ARGS, seed=seed, **options)
    with ThreadPoolExecutor(2) as pool:
        finished = drive(strategy, noisy_trial, pool, concurrency=2)
    return strategy, finished


def test_each_level_trains_the_beam_of_expansions_of_the_best_one_layer_shallower():
    strategy, finished = grow(beam=2)
    results = [trial.result for trial in finished]
    assert [sum(result["level"] == level for result in results) for level in (1, 2, 3)] == [6, 2, 2]
    by_level = {level: [trial for trial in finished if trial.result["level"] == level] for level in (1, 2, 3)}
    for level in (2, 3):
        parents = sorted(by_level[level - 1], key=lambda trial: trial.result["default"], reverse=True)[:2]
        for trial in by_level[level]:
            name = trial.parameters["architecture"]
            assert name.count("_") == level - 1, "one layer deeper than the level before"
            assert any(name.startswith(parent.parameters["architecture"] + "_") for parent in parents), (
                "an expansion of one of the level before's best"
            )
            assert trial.result["predicted_score"] is not None
    assert [level["depth"] for level in strategy.levels] == [1, 2, 3]
    with pytest.raises(NothingToPropose):
        strategy.ask(99)


def test_the_predictor_picks_expansions_better_than_the_average_expansion():
    strategy, finished = grow(beam=2)
    for level in (2, 3):
        before = [trial for trial in finished if trial.result["level"] == level - 1]
        parents = sorted(before, key=lambda trial: trial.result["default"], reverse=True)[:2]
        # the candidates: every expansion of the parents, 6 choices for the new layer each
        candidates = [
            true_score(
                strategy.space.parse_architecture_name(f"{parent.parameters['architecture']}_{width}-{activation}")
            )
            for parent in parents
            for width in (16, 64, 256)
            for activation in ("relu", "tanh")
        ]
        picked = [true_score(trial.parameters) for trial in finished if trial.result["level"] == level]
        assert np.mean(picked) > np.mean(candidates), (level, picked, candidates)


def test_the_ensemble_ranks_deeper_architectures_it_has_not_seen_from_shallower_scores():
    space = ProgressiveStrategy(**ARGS, beam=2).space
    choices = {label: list(values) for label, values in ProgressiveStrategy(**ARGS, beam=2).choices.items()}
    encoder = ArchitectureEncoder(choices, [space.layer_labels(layer) for layer in (1, 2, 3)])
    rng = np.random.default_rng(0)

    def random_point(depth):
        return space.with_unused_layers(
            {
                "depth": depth,
                **{label: values[rng.integers(len(values))] for label, values in choices.items() if label != "depth"},
            }
        )

    seen = [random_point(depth) for depth in (1, 2) for _ in range(12)]
    unseen = [random_point(3) for _ in range(20)]
    predictor = EnsemblePredictor(encoder.size, PredictorSettings(), seed=0)
    predictor.fit(np.stack([encoder.encode(p, p["depth"]) for p in seen]), np.array([true_score(p) for p in seen]))
    mean, spread = predictor.predict(np.stack([encoder.encode(p, 3) for p in unseen]))
    assert rank_correlation(mean, [true_score(p) for p in unseen]) > 0.7
    assert (spread > 0).all(), "the members disagree somewhat: the ensemble's uncertainty"


def test_first_level_samples_the_smallest_depth_and_the_search_is_seeded():
    strategy, finished = grow(beam=1, first_level=3)
    assert [trial.result["level"] for trial in finished].count(1) == 3
    again, repeated = grow(beam=1, first_level=3)
    # trials finish in either order; each level's architectures are the same
    assert sorted((t.result["level"], t.parameters["architecture"]) for t in finished) == sorted(
        (t.result["level"], t.parameters["architecture"]) for t in repeated
    )


def test_a_resumed_search_proposes_what_the_uninterrupted_one_did(tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_CHECKPOINT_DIRECTORY", str(tmp_path))
    uninterrupted = [name for name in tuner_run(TUNERS["RlNasProgressive"](**ARGS, beam=2), range(10))]

    before = TUNERS["RlNasProgressive"](**ARGS, beam=2)
    first = tuner_run(before, range(7))  # level 1 and the first trial of level 2
    resumed = TUNERS["RlNasProgressive"](**ARGS, beam=2)
    resumed.load_checkpoint()
    assert resumed.strategy.levels == before.strategy.levels
    assert resumed.strategy.predictor.state_dict()["mean"] == before.strategy.predictor.state_dict()["mean"]
    assert first + tuner_run(resumed, range(7, 10)) == uninterrupted


def tuner_run(tuner, parameter_ids) -> list[str]:
    """One trial at a time through NNI's tuner calls; the names trained."""
    names = []
    for parameter_id in parameter_ids:
        parameters = tuner.generate_parameters(parameter_id)
        tuner.receive_trial_result(parameter_id, parameters, noisy_trial(parameters))
        tuner.trial_end(parameter_id, success=True)
        names.append(parameters["architecture"])
    return names


def test_requests_refused_between_levels_are_filled_when_the_next_level_starts():
    tuner = TUNERS["RlNasProgressive"](**ARGS, beam=2, first_level=2)
    sent = []
    first = tuner.generate_multiple_parameters([0, 1], st_callback=lambda *trial: sent.append(trial))
    assert len(first) == 2
    assert tuner.generate_multiple_parameters([2], st_callback=lambda *trial: sent.append(trial)) == []  # level 1 runs
    for parameter_id, parameters in enumerate(first):
        tuner.receive_trial_result(parameter_id, parameters, noisy_trial(parameters))
        tuner.trial_end(parameter_id, success=True)
    # level 2 began with the last result: the refused request 2 got its first trial
    assert [parameter_id for parameter_id, _ in sent] == [2]
    assert sent[0][1]["proposal"]["level"] == 2
    assert len(tuner.generate_multiple_parameters([3, 4], st_callback=lambda *trial: sent.append(trial))) == 1
    with pytest.raises(NoMoreTrialError):
        tuner.generate_parameters(5)


@pytest.mark.parametrize(
    "space, options, message",
    [
        (
            {**SPACE, "depth": 2},
            {},
            r"space.depth: RlNasProgressive grows .* got 2; fix: a list, e.g. depth: \[1, 2, 3\]",
        ),
        (
            {"family": "darts"},
            {"task": {"env": "MinAtar/Breakout-v1", "algorithm": "ppo"}},
            r"space.family: RlNasProgressive grows .* 'darts' family has no depth to grow",
        ),
        (SPACE, {"beam": 0}, r"tuner.classArgs.beam: got 0; fix: a whole number >= 1"),
        (SPACE, {"predictor": {"members": 1}}, r"tuner.classArgs.predictor.members: got 1; fix: at least 2"),
        (
            SPACE,
            {"search_hyperparameters": {"learning_rate": {"_type": "choice", "_value": [0.001]}}},
            r"RlNasProgressive .* a hyperparameter is no layer",
        ),
        ({**SPACE, "depth": [1, 1, 2]}, {}, r"space.depth: got \[1, 1, 2\]; fix: .* distinct"),
    ],
)
def test_a_space_that_cannot_grow_and_bad_options_are_refused(space, options, message):
    with pytest.raises(ConfigError, match=message):
        ProgressiveStrategy(space=space, **{"task": ARGS["task"], **options})


def test_enas_refuses_a_searched_depth():
    from nni_rl_nas.strategies import EnasStrategy

    with pytest.raises(ConfigError, match=r"space.depth: RlNasEnas shares one supernet of a fixed depth"):
        EnasStrategy(space=SPACE, task={"env": "CartPole-v1"})


def test_an_impala_encoder_grows_by_stages():
    strategy = ProgressiveStrategy(
        space={"family": "impala", "stages": [1, 2], "channels": [16, 32], "blocks": [0, 1]},
        task={"env": "MinAtar/Breakout-v1", "algorithm": "ppo"},
        beam=1,
    )
    with ThreadPoolExecutor(2) as pool:
        finished = drive(
            strategy,
            lambda parameters: {"default": float(len(parameters["architecture"])), **parameters["proposal"]},
            pool,
            concurrency=2,
        )
    names = [trial.parameters["architecture"] for trial in finished]
    assert sorted(names[:4]) == ["c16b0", "c16b1", "c32b0", "c32b1"]
    assert len(names) == 5 and names[4].count("_") == 1, "then one two-stage encoder"


def test_a_small_frame_encoder_grows_by_stages_and_decides_its_dense_width_at_the_first_level():
    strategy = ProgressiveStrategy(
        space={
            "family": "stages",
            "stages": [1, 2],
            "channels": [16],
            "kernels": [3],
            "paddings": ["same"],
            "downsamplings": ["none", "pool"],
            "blocks": [0],
            "features": [128, 512],
        },
        task={"env": "MinAtar/Breakout-v1", "algorithm": "ppo"},
        beam=1,
    )

    def wider_is_better(parameters):
        return {"default": float(parameters["features"]) + len(parameters["architecture"]), **parameters["proposal"]}

    with ThreadPoolExecutor(2) as pool:
        finished = drive(strategy, wider_is_better, pool, concurrency=2)
    names = [trial.parameters["architecture"] for trial in finished]
    assert sorted(names[:4]) == ["c16k3_f128", "c16k3_f512", "c16k3m_f128", "c16k3m_f512"]
    assert len(names) == 5 and names[4].startswith("c16k3m_") and names[4].endswith("_f512"), (
        "the best one-stage encoder grown by a stage, its dense width kept"
    )


def test_the_cost_budget_ends_a_progressive_search_mid_level():
    strategy, finished = grow(beam=2, budget={"env_steps": 4000})
    # each trial spends 1000 env steps; no trial starts once 4 have finished, and a running one finishes
    assert len(finished) in (4, 5) and all(trial.result["level"] == 1 for trial in finished)
    with pytest.raises(Exception, match="budget.env_steps 4000 spent"):
        strategy.ask(99)
