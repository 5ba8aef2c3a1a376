"""The policy-gradient strategy, driven the way NNI drives it, against a synthetic evaluator.

The synthetic score is a known function of the architecture (the fraction of decisions that
match 256-relu_256-relu) plus Gaussian noise, so the best architecture is known in advance.
Results come back in random order with two trials running, as at trialConcurrency 2.
"""

import numpy as np
import pytest
import torch

from nni_rl_nas.controller import ArchitectureController, ControllerSettings, Reinforce, architecture_of, decisions_of
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.strategies import NothingToPropose, PolicyGradientStrategy

ARGS = {"space": {"family": "mlp"}, "task": {"env": "LunarLander-v3"}}
BEST = {"layer1_width": 256, "layer1_activation": "relu", "layer2_width": 256, "layer2_activation": "relu"}
TRIALS = 60  # the stated budget: the controller must concentrate within 60 trials


def synthetic_score(architecture, rng):
    return sum(architecture[label] == value for label, value in BEST.items()) / 4 + rng.normal(0, 0.05)


def q_network_parameters(architecture) -> int:
    """Weights of LunarLander's Q-network (8 inputs, 4 actions) with the two hidden layers."""
    first, second = architecture["layer1_width"], architecture["layer2_width"]
    return (8 + 1) * first + (first + 1) * second + (second + 1) * 4


def search(seed, concurrency=2, **options):
    """Run the strategy as NNI would until it stops or TRIALS trials finished; return it and the trial count."""
    strategy = PolicyGradientStrategy(**ARGS, seed=seed, **options)
    rng = np.random.default_rng(seed)
    running, next_id, finished = {}, 0, 0
    for _ in range(concurrency):
        running[next_id] = strategy.ask(next_id)
        next_id += 1
    while running and finished < TRIALS:
        parameter_id = list(running)[rng.integers(len(running))]  # any trial may finish first
        parameters = running.pop(parameter_id)
        architecture = {label: parameters[label] for label in strategy.choices}
        strategy.tell(
            parameter_id,
            parameters,
            {"default": synthetic_score(architecture, rng), "parameters": q_network_parameters(architecture)},
        )
        strategy.tell_end(parameter_id, success=True)
        finished += 1
        try:
            running[next_id] = strategy.ask(next_id)
            next_id += 1
        except NothingToPropose:
            pass
    return strategy, finished


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_controller_concentrates_on_the_best_architecture_within_60_trials(seed):
    strategy, trials = search(seed)
    assert trials <= TRIALS
    assert strategy.controller.probabilities(decisions_of(strategy.choices, BEST)) > 0.9
    trained = [record.name for record in strategy.history]
    assert len(trained) == len(set(trained)), "no architecture is trained twice"
    assert "256-relu_256-relu" in trained


def test_without_a_baseline_the_same_searches_mostly_fail_to_concentrate():
    strategies = [search(seed, controller={"baseline": "none"})[0] for seed in (0, 1, 2)]
    probabilities = [s.controller.probabilities(decisions_of(s.choices, BEST)) for s in strategies]
    assert sum(p > 0.9 for p in probabilities) <= 1, probabilities


def test_with_a_cost_penalty_the_controller_concentrates_on_the_best_small_network_instead():
    """0.5 per tenfold: 64-relu_64-relu (2 of 4 decisions right, 5,380 weights) beats the
    best-scoring 256-relu_256-relu (67,844 weights) by 0.5 * log10(67844 / 5380) - 0.5 = 0.05."""
    small = {**BEST, "layer1_width": 64, "layer2_width": 64}
    strategy, _ = search(0, cost={"per_tenfold": 0.5})
    assert strategy.controller.probabilities(decisions_of(strategy.choices, small)) > 0.5
    record = strategy.history[0]
    assert strategy.known_objective(record.architecture) == pytest.approx(
        record.score - 0.5 * np.log10(q_network_parameters(record.architecture))
    )


def test_a_bad_cost_penalty_is_refused_naming_the_field():
    with pytest.raises(ConfigError, match=r"tuner.classArgs.cost.per_tenfold: got -1; fix: a number >= 0"):
        PolicyGradientStrategy(**ARGS, cost={"per_tenfold": -1})
    with pytest.raises(ConfigError, match="cost: unknown key 'weight'"):
        PolicyGradientStrategy(**ARGS, cost={"weight": 1})


def gradient_signals(baseline: str, samples: int = 200, seed: int = 0) -> np.ndarray:
    """Per-sample REINFORCE gradients advantage * grad log p(a) of one fixed controller."""
    torch.manual_seed(seed)
    strategy = PolicyGradientStrategy(**ARGS, seed=seed)
    reinforce = Reinforce(strategy.controller, ControllerSettings(baseline=baseline, entropy_weight=0.0))
    generator, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    signals = []
    for _ in range(samples):
        decisions = strategy.controller.sample(generator)
        advantage = reinforce.advantage(decisions, synthetic_score(architecture_of(strategy.choices, decisions), rng))
        strategy.controller.zero_grad()
        (advantage * strategy.controller.evaluate(decisions)[0]).backward()
        signals.append(torch.cat([p.grad.flatten() for p in strategy.controller.parameters()]).numpy().copy())
    return np.array(signals)


def test_ema_baseline_lowers_the_variance_of_the_policy_gradient_signal():
    variance = {baseline: gradient_signals(baseline).var(axis=0).sum() for baseline in ("ema", "none")}
    assert variance["ema"] < 0.5 * variance["none"], variance


def test_failed_trials_are_ignored_or_scored_as_configured():
    ignoring = PolicyGradientStrategy(**ARGS, controller={"samples_per_update": 1})
    parameters = ignoring.ask(0)
    ignoring.tell_end(0, success=False)
    assert ignoring.reinforce.advantages == [] and ignoring.failed_scores == {}

    penalising = PolicyGradientStrategy(**ARGS, controller={"samples_per_update": 1}, failure_score=-1.0)
    parameters = penalising.ask(0)
    penalising.tell_end(0, success=False)
    assert penalising.failed_scores == {parameters["architecture"]: -1.0}


def test_controller_log_probabilities_sum_to_one_over_a_small_space():
    controller = ArchitectureController([2, 3], hidden_size=8)
    total = sum(controller.probabilities([a, b]) for a in range(2) for b in range(3))
    assert total == pytest.approx(1.0, abs=1e-5)


def test_bad_controller_options_are_refused():
    with pytest.raises(ConfigError, match="controller.baseline: got 'average'"):
        PolicyGradientStrategy(**ARGS, controller={"baseline": "average"})
    with pytest.raises(ConfigError, match="controller: unknown key 'lr'; fix: use one of"):
        PolicyGradientStrategy(**ARGS, controller={"lr": 0.1})


def test_the_critic_learns_to_predict_the_score_of_each_decision_state():
    strategy = PolicyGradientStrategy(
        **ARGS, controller={"baseline": "critic", "samples_per_update": 1, "learning_rate": 0.01}
    )
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):
        strategy.reinforce.observe(strategy.controller.sample(generator), 0.7)
    values = strategy.controller.evaluate_steps(strategy.controller.sample(generator))[2]
    assert values.shape == (4,)
    assert torch.allclose(values, torch.full((4,), 0.7), atol=0.05), values
    assert abs(strategy.reinforce.advantages[-1]) < 0.05, "the reward signal shrinks as the critic learns"


def test_l2_regularisation_adds_lambda_times_the_squared_weights():
    plain = PolicyGradientStrategy(**ARGS, seed=0)
    regularised = PolicyGradientStrategy(**ARGS, seed=0, controller={"l2_weight": 0.01})
    batch = [(plain.controller.sample(torch.Generator().manual_seed(1)), 0.5)]
    squared = sum((p.detach() ** 2).sum() for p in plain.controller.parameters())
    difference = regularised.reinforce.surrogate_loss(batch) - plain.reinforce.surrogate_loss(batch)
    assert float(difference.detach()) == pytest.approx(0.01 * float(squared), rel=1e-4)
