"""NNI's built-in tuners as strategies: NNI's proposals, our baselines, budget, objective and resume."""

import random

import pytest
from nni.algorithms.hpo.tpe_tuner import TpeTuner

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.spaces import nni_search_space
from nni_rl_nas.strategies import NniTunerStrategy, NothingToPropose

SPACE = {"family": "mlp", "widths": [16, 32, 64], "activations": ["relu", "tanh"]}
TASK = {"env": "CartPole-v1"}


def score_of(parameters: dict) -> float:
    """A made-up score that favours wide first layers, so a learning tuner has something to learn."""
    return float(parameters["layer1_width"]) + (5.0 if parameters.get("layer2_activation") == "tanh" else 0.0)


def run(strategy, trials: int, first: int = 0) -> list[str]:
    names = []
    for trial_id in range(first, first + trials):
        parameters = strategy.ask(trial_id)
        names.append(parameters["architecture"])
        strategy.tell(trial_id, parameters, {"default": score_of(parameters), "env_steps": 100})
        strategy.tell_end(trial_id, True)
    return names


def test_the_proposals_are_nnis_tuners_own():
    strategy = NniTunerStrategy(
        space=SPACE, task=TASK, seed=2, algorithm="TPE", algorithm_args={"tpe_args": {"n_startup_jobs": 3}}
    )
    tuner = TpeTuner(optimize_mode="maximize", seed=2, tpe_args={"n_startup_jobs": 3})
    tuner.update_search_space(nni_search_space(strategy.space))
    expected = []
    for trial_id in range(8):
        parameters = tuner.generate_parameters(trial_id)
        expected.append(strategy.name_of(parameters))
        tuner.receive_trial_result(trial_id, parameters, score_of(parameters))
        tuner.trial_end(trial_id, True)
    assert run(strategy, 8) == expected


def test_evolution_is_reproducible_from_the_strategys_seed():
    def names(seed):
        return run(
            NniTunerStrategy(
                space=SPACE, task=TASK, seed=seed, algorithm="Evolution", algorithm_args={"population_size": 4}
            ),
            10,
        )

    outside = random.getstate()
    assert names(5) == names(5)
    assert names(5) != names(6)
    assert random.getstate() == outside, "the process's own generator is left alone"


def test_a_point_proposed_again_is_answered_with_its_known_score_not_trained_again():
    strategy = NniTunerStrategy(
        space=SPACE, task=TASK, seed=1, algorithm="Evolution", algorithm_args={"population_size": 4}
    )
    heard = []
    receive = strategy.tuner.receive_trial_result
    strategy.tuner.receive_trial_result = lambda trial_id, parameters, value, **kwargs: (
        heard.append((strategy.name_of(parameters), value)),
        receive(trial_id, parameters, value, **kwargs),
    )
    names = run(strategy, 20)
    assert len(set(names)) == 20, "every trial trains a point no trial trained before"
    trained = dict(zip(names, map(lambda name: score_of(strategy.search_space.parse_name(name)), names)))
    answered = heard[:]
    for name in names:
        answered.remove((name, trained[name]))  # each trial's own result
    assert answered, "Evolution's mutations proposed trained points again within 20 trials"
    assert all(value == trained[name] for name, value in answered), "a repeat hears the score its trial got"


def test_a_tuner_that_proposes_only_trained_points_ends_the_search():
    strategy = NniTunerStrategy(
        space={"family": "mlp", "depth": 1, "widths": [16, 32], "activations": ["relu"]},
        task=TASK,
        algorithm="Evolution",
        algorithm_args={"population_size": 2},
        max_draws=20,
    )
    assert sorted(run(strategy, 2)) == ["16-relu", "32-relu"]
    with pytest.raises(
        NothingToPropose,
        match="Evolution converged: 20 proposals in a row were points that already have a score or a running trial",
    ):
        strategy.ask(2)


def test_a_point_whose_trial_is_running_is_not_proposed_to_a_second_trial():
    strategy = NniTunerStrategy(
        space={"family": "mlp", "depth": 1, "widths": [16, 32], "activations": ["relu"]},
        task=TASK,
        algorithm="Evolution",
        algorithm_args={"population_size": 4},
        max_draws=20,
    )
    running = {strategy.ask(0)["architecture"], strategy.ask(1)["architecture"]}
    assert running == {"16-relu", "32-relu"}, "the second trial did not get the first one's point"
    with pytest.raises(NothingToPropose, match="or a running trial"):
        strategy.ask(2)


def test_baselines_come_first_and_the_tuner_never_hears_of_them():
    strategy = NniTunerStrategy(space=SPACE, task=TASK, algorithm="TPE", baselines=["64-relu_64-relu"])
    heard = []
    receive = strategy.tuner.receive_trial_result
    strategy.tuner.receive_trial_result = lambda trial_id, *args, **kwargs: (
        heard.append(trial_id),
        receive(trial_id, *args, **kwargs),
    )
    baseline = strategy.ask(0)
    assert baseline["architecture"] == "64-relu_64-relu" and baseline["baseline"] is True
    strategy.tell(0, baseline, {"default": 1.0})
    strategy.tell_end(0, True)
    run(strategy, 2, first=1)
    assert heard == [1, 2]


def test_the_tuner_learns_the_cost_aware_objective():
    strategy = NniTunerStrategy(space=SPACE, task=TASK, algorithm="TPE", cost={"per_tenfold": 10.0})
    told = []
    strategy.tuner.receive_trial_result = lambda trial_id, parameters, value, **kwargs: told.append(value)
    parameters = strategy.ask(0)
    strategy.tell(0, parameters, {"default": 50.0, "parameters": 1000})
    assert told == [pytest.approx(50.0 - 10.0 * 3)]


def test_the_budget_stops_proposals():
    strategy = NniTunerStrategy(space=SPACE, task=TASK, algorithm="Random", budget={"env_steps": 300})
    run(strategy, 3)
    with pytest.raises(NothingToPropose, match="budget.env_steps 300 spent"):
        strategy.ask(3)


def test_a_resumed_search_warm_starts_nnis_tuner_from_its_history():
    arguments = dict(
        space=SPACE, task=TASK, seed=4, algorithm="TPE", algorithm_args={"tpe_args": {"n_startup_jobs": 2}}
    )
    original = NniTunerStrategy(**arguments)
    run(original, 4)
    running = original.ask(4)  # proposed before the stop, its result comes after the resume
    resumed = NniTunerStrategy(**arguments)
    resumed.load_state_dict(original.state_dict())

    def records():  # TPE keeps one record per trial under each of the 4 decisions
        return sum(map(len, resumed.tuner._history.values())) // 4

    assert records() == 4, "TPE's own import_data received the four finished trials"
    resumed.tell(4, running, {"default": score_of(running)})  # not proposed by this tuner: imported, no KeyError
    resumed.tell_end(4, True)
    assert records() == 5
    run(resumed, 3, first=5)


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {
                "algorithm": "PBT",
                "search_hyperparameters": {"buffer_size": {"_type": "choice", "_value": [1000, 2000]}},
            },
            "search_hyperparameters.buffer_size: PBT continues an agent with its replay buffer",
        ),
        ({"algorithm": "Hyperband"}, "'Hyperband' cannot drive trials here: NNI runs it as an advisor"),
        ({"algorithm": "GP"}, "'GP' cannot drive trials here: it takes only numerical choices"),
        ({"algorithm": "Tpe"}, "tuner.classArgs.algorithm: got 'Tpe'; fix: one of ['TPE'"),
        ({"algorithm": ["TPE"]}, "tuner.classArgs.algorithm: got ['TPE']; fix: one of ['TPE'"),
        (
            {"algorithm": "TPE", "algorithm_args": {"optimize_mode": "minimize"}},
            "tuner.classArgs.algorithm_args.optimize_mode: set by this strategy",
        ),
        ({"algorithm": "TPE", "algorithm_args": {"seed": 3}}, "and set tuner.classArgs.seed"),
        (
            {"algorithm": "Evolution", "algorithm_args": {"population_size": "many"}},
            "tuner.classArgs.algorithm_args: Evolution refuses",
        ),
        ({"algorithm": "TPE", "algorithm_args": [1]}, "tuner.classArgs.algorithm_args: got [1]"),
    ],
)
def test_tuners_that_cannot_drive_trials_and_bad_arguments_are_refused(options, message):
    with pytest.raises(ConfigError, match="fix") as error:
        NniTunerStrategy(space=SPACE, task=TASK, **options)
    assert message in str(error.value)
