"""Every strategy races on paired seeds, with baselines and a verdict on test seeds, as NNI drives it."""

import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.landscape import InlineExecutor
from nni_rl_nas.strategies import STRATEGIES, RandomStrategy
from nni_rl_nas.strategies.driver import drive

SPACE = {"family": "mlp", "depth": 2, "widths": [16, 32, 64, 128], "activations": ["relu", "tanh"]}
ARGS = {"space": SPACE, "task": {"env": "LunarLander-v3", "seed": 0, "total_timesteps": 1000}}
RACING = {
    "racing": {"initial_seeds": 1, "max_seeds": 6, "answer_seeds": 4},
    "verdict": {"test_seeds": 3, "first_test_seed": 100},
    "baselines": ["128-relu_128-relu"],
}
PROGRESSIVE_SPACE = {**SPACE, "depth": [1, 2]}


def simulated_score(name: str, seed: int) -> float:
    """A true mean per architecture (its hash) plus seed noise three times as large, as on LunarLander."""
    rng = np.random.default_rng([zlib.crc32(name.encode()), seed])
    return float(zlib.crc32(name.encode()) % 60 + rng.normal(0.0, 90.0))


def simulated_trial(parameters: dict) -> dict:
    seeds = parameters["train_seeds"]
    scores = [simulated_score(parameters["architecture"], seed) for seed in seeds]
    return {
        "default": float(np.mean(scores)),
        "seed_scores": scores,
        "train_seeds": seeds,
        "env_steps": 1000 * len(seeds),
        "parameters": 1000,
    }


def searched(strategy_name: str, executor=None, concurrency: int = 1, **options):
    space = PROGRESSIVE_SPACE if strategy_name == "RlNasProgressive" else SPACE
    strategy = STRATEGIES[strategy_name](
        **{**ARGS, "space": space}, **{**RACING, **options}, seed=1, budget={"env_steps": 40_000}
    )
    finished = drive(strategy, simulated_trial, executor or InlineExecutor(), concurrency=concurrency)
    return strategy, [trial.parameters for trial in finished]


MULTI_TRIAL = ["RlNasRandom", "RlNasGrid", "RlNasPolicyGradient", "RlNasProgressive", "RlNasNniTuner"]


@pytest.mark.parametrize("strategy_name", MULTI_TRIAL)
def test_every_strategy_races_pairs_the_baseline_and_ends_with_the_verdict(strategy_name):
    strategy, trials = searched(strategy_name)
    search = [trial for trial in trials if not trial.get("verdict")]
    verdict = [trial for trial in trials if trial.get("verdict")]
    seeds_of: dict[str, list[int]] = {}
    for trial in search:
        seeds_of.setdefault(trial["architecture"], []).extend(trial["train_seeds"])
    for name, seeds in seeds_of.items():
        assert seeds == list(range(len(seeds))), name  # search seeds 0.., each once, in order
    answer = strategy.race.answer
    assert len(seeds_of[answer]) >= 4
    contenders = [seeds for name, seeds in seeds_of.items() if name != "128-relu_128-relu"]
    assert len(seeds_of["128-relu_128-relu"]) == max(len(seeds) for seeds in contenders)
    assert max(len(seeds) for seeds in contenders) > 1  # promotions happened
    assert sorted(
        (trial["architecture"], trial["train_seeds"], bool(trial.get("baseline"))) for trial in verdict
    ) == sorted([(answer, [100, 101, 102], False), ("128-relu_128-relu", [100, 101, 102], True)])
    assert trials[-1]["verdict"] and trials[-1]["architecture"] == answer  # the answer's verdict ends the search


@pytest.mark.parametrize("strategy_name", ["RlNasRandom", "RlNasPolicyGradient"])
def test_a_strategy_learns_from_an_architectures_first_trial_only(strategy_name, monkeypatch):
    learnt = []
    original = STRATEGIES[strategy_name].observe
    monkeypatch.setattr(
        STRATEGIES[strategy_name], "observe", lambda self, record: (learnt.append(record.name), original(self, record))
    )
    strategy, trials = searched(strategy_name)
    proposed = [trial["architecture"] for trial in trials if not trial.get("baseline") and not trial.get("verdict")]
    assert sorted(learnt) == sorted(set(proposed)) and len(learnt) < len(proposed)


def test_known_objectives_pool_every_seed_an_architecture_ran():
    strategy, _ = searched("RlNasRandom")
    answer = strategy.race.answer
    scores = [simulated_score(answer, seed) for seed in sorted(strategy.race.entrants[answer].scores)]
    assert strategy.known_objective(strategy.search_space.parse_name(answer)) == pytest.approx(np.mean(scores))


def test_racing_works_with_two_trials_at_a_time():
    strategy, trials = searched("RlNasRandom", ThreadPoolExecutor(2), concurrency=2)
    verdict = [trial for trial in trials if trial.get("verdict")]
    assert [trial["train_seeds"] for trial in verdict] == [[100, 101, 102]] * 2 and strategy.finished()
    assert len(strategy.race.entrants[strategy.race.answer].scores) >= 4


def test_the_baselines_test_seeds_fill_an_idle_slot_and_cost_no_search_budget():
    strategy = RandomStrategy(**ARGS, **RACING, seed=1, budget={"env_steps": 500})
    first = strategy.ask(0)  # the baseline's search seed
    strategy.tell(0, first, simulated_trial(first))  # 1000 env steps: the search may propose nothing more
    idle = strategy.ask(1)
    assert first["baseline"] and idle["baseline"] and idle["verdict"] and idle["train_seeds"] == [100, 101, 102]
    strategy.tell(1, idle, simulated_trial(idle))
    assert strategy.spent()["env_steps"] == 1000 and not strategy.finished()


def test_a_search_resumed_mid_race_ends_as_the_uninterrupted_one():
    whole, trials = searched("RlNasRandom")
    interrupted = RandomStrategy(**ARGS, **RACING, seed=1, budget={"env_steps": 40_000})
    for trial_id, parameters in enumerate(trials[:9]):  # one at a time, as drive ran them
        assert interrupted.ask(trial_id) == parameters
        interrupted.tell(trial_id, parameters, simulated_trial(parameters))
        interrupted.tell_end(trial_id, success=True)
    resumed = RandomStrategy(**ARGS, **RACING, seed=1, budget={"env_steps": 40_000})
    resumed.load_state_dict(interrupted.state_dict())
    rest = drive(resumed, simulated_trial, InlineExecutor(), concurrency=1)
    assert [trial.parameters for trial in rest] == trials[9:]
    assert resumed.race.answer == whole.race.answer


def test_the_budget_is_kept_for_the_answers_top_up():
    strategy, trials = searched("RlNasRandom")
    before_verdict = sum(len(trial["train_seeds"]) for trial in trials if not trial.get("verdict"))
    assert before_verdict * 1000 <= 40_000 + 2 * 4 * 1000  # at most the answer's (and its baseline's) top-up beyond


FINALISTS = {"initial_seeds": 1, "max_seeds": 1, "answer_seeds": 3, "finalists": 3, "pair_baselines": False}


@pytest.mark.parametrize("strategy_name", ["RlNasRandom", "RlNasNniTuner"])
def test_finalists_alone_earn_more_seeds_within_the_budget(strategy_name):
    strategy, trials = searched(strategy_name, racing=FINALISTS)
    search = [trial for trial in trials if not trial.get("verdict")]
    seeds_of: dict[str, list[int]] = {}
    for trial in search:
        seeds_of.setdefault(trial["architecture"], []).extend(trial["train_seeds"])
    final = strategy.race.final
    assert len(final) == 3 and strategy.race.answer in final
    assert {name: seeds for name, seeds in seeds_of.items() if len(seeds) > 1} == {name: [0, 1, 2] for name in final}
    assert sum(len(seeds) for seeds in seeds_of.values()) * 1000 <= 40_000  # the finalists' seeds kept in the budget
    answer_mean = np.mean(list(strategy.race.entrants[strategy.race.answer].scores.values()))
    assert all(np.mean(list(strategy.race.entrants[name].scores.values())) <= answer_mean for name in final)


@pytest.mark.parametrize("pair_baselines", [False, True])
def test_finalists_at_two_trials_at_a_time_keep_within_the_budget(pair_baselines):
    """A trial still running has spent nothing yet; the reserve counts it all the same, or each slot
    beside the one that asks overruns the budget by an agent."""
    racing = {**FINALISTS, "pair_baselines": pair_baselines}
    strategy, trials = searched("RlNasNniTuner", ThreadPoolExecutor(2), concurrency=2, racing=racing)
    search = [trial for trial in trials if not trial.get("verdict")]
    assert len(strategy.race.final) == 3
    assert sum(len(trial["train_seeds"]) for trial in search) * 1000 <= 40_000


@pytest.mark.parametrize(
    "options, message",
    [
        ({"racing": {"initial_seeds": 3, "max_seeds": 2}}, r"racing.max_seeds: got 2, below initial_seeds 3"),
        (
            {"racing": {"initial_seeds": 3, "max_seeds": 4, "answer_seeds": 2}},
            r"racing.answer_seeds: got 2; fix: at least initial_seeds \(3\)",
        ),
        ({"racing": {"finalists": 0}}, r"racing.finalists: got 0"),
        (
            {
                "racing": {"initial_seeds": 1, "max_seeds": 1, "answer_seeds": 7},
                "verdict": {"test_seeds": 2, "first_test_seed": 5},
            },
            r"verdict.first_test_seed: test seeds 5.. overlap the search seeds 0..6",
        ),
        ({"racing": {"rule": "median"}}, r"racing.rule: got 'median'; fix: one of \['t_test', 'aggregate'\]"),
        ({"racing": {"confidence": 1.5}}, r"racing.confidence: got 1.5; fix: a number strictly between 0 and 1"),
        ({"racing": {"aggregate": "max"}}, r"racing.aggregate: got 'max'"),
        (
            {"racing": {"max_seeds": 10}, "verdict": {"test_seeds": 2, "first_test_seed": 5}},
            r"verdict.first_test_seed: test seeds 5.. overlap the search seeds 0..9",
        ),
        ({"racing": {"seeds": 3}}, r"racing: unknown key 'seeds'"),
    ],
)
def test_bad_racing_and_verdict_options_are_refused_naming_the_field(options, message):
    with pytest.raises(ConfigError, match=message):
        RandomStrategy(**ARGS, **options)


def test_racing_is_refused_for_a_dataset_task():
    with pytest.raises(ConfigError, match="tuner.classArgs.racing: seeds are an RL agent's"):
        RandomStrategy(space={"family": "cnn"}, task={"dataset": "digits"}, racing={"max_seeds": 3})


def test_the_answers_test_seeds_start_beside_a_running_baseline_verdict():
    options = {**RACING, "racing": {"initial_seeds": 1, "max_seeds": 1}}
    strategy = RandomStrategy(**ARGS, **options, seed=1, budget={"env_steps": 1500})
    for trial_id in (0, 1):  # the baseline's seed 0, then one architecture's: the budget is spent
        parameters = strategy.ask(trial_id)
        strategy.tell(trial_id, parameters, simulated_trial(parameters))
        strategy.tell_end(trial_id, success=True)
    baseline = strategy.ask(2)  # still running when the next slot asks
    answer = strategy.ask(3)
    assert baseline["verdict"] and baseline["baseline"]
    assert answer["verdict"] and answer["architecture"] == strategy.race.answer and strategy.finished()
