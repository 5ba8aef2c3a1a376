import gymnasium as gym
import numpy as np
import pytest

from nni_rl_nas.config import parse_class_args
from nni_rl_nas.evaluator.scoring import EVAL_SEED_BASE, greedy_returns, score_agent, solved_in_training


class AlwaysLeft:
    """A fixed CartPole policy: its returns depend only on the episode seeds."""

    def __init__(self):
        self.seeds = []

    def predict(self, observation, deterministic=True):
        return 0, None


class SeedRecordingEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.seeds = []

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        return self.env.reset(seed=seed, options=options)


def cartpole_task(**score):
    return parse_class_args({"task": {"env": "CartPole-v1", "score": score}}).task


def test_solved_in_training_needs_a_full_window_at_the_threshold():
    assert not solved_in_training([300.0] * 99, window=100, threshold=200)
    assert solved_in_training([0.0] * 50 + [200.0] * 100 + [0.0] * 50, window=100, threshold=200)
    assert not solved_in_training([0.0] * 50 + [200.0] * 99 + [0.0] * 50, window=100, threshold=200)


def test_evaluation_seeds_are_disjoint_from_training_and_from_the_solve_check():
    env = SeedRecordingEnv(gym.make("CartPole-v1"))
    greedy_returns(AlwaysLeft(), env, episodes=3, block=0)
    greedy_returns(AlwaysLeft(), env, episodes=3, block=1)
    assert env.seeds == [EVAL_SEED_BASE, EVAL_SEED_BASE + 1, EVAL_SEED_BASE + 2,
                         2 * EVAL_SEED_BASE, 2 * EVAL_SEED_BASE + 1, 2 * EVAL_SEED_BASE + 2]


def test_mean_return_rule_scores_the_mean_greedy_return():
    task = cartpole_task(rule="mean_return", episodes=10)
    expected = greedy_returns(AlwaysLeft(), gym.make("CartPole-v1"), 10, block=0)
    score = score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, training_returns=[])
    assert score.value == pytest.approx(expected.mean())
    assert 5 < score.value < 20  # pushing left topples the pole within a few steps
    assert not score.solved


def test_seed_rule_gives_the_unsolved_score_below_the_threshold():
    task = cartpole_task(rule="solved_then_eval", episodes=10, solve_window=10)
    score = score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, training_returns=[])
    assert score.value == 1e-5 and not score.solved and score.mean_return is None


def test_seed_rule_scores_mean_over_a_different_seed_block_divided_by_scale():
    task = cartpole_task(rule="solved_then_eval", episodes=10, solve_window=10, threshold=5.0, scale=30.0)
    other_block = greedy_returns(AlwaysLeft(), gym.make("CartPole-v1"), 10, block=1)
    score = score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, training_returns=[])
    assert score.solved
    assert score.value == pytest.approx(other_block.mean() / 30.0)


def test_seed_rule_can_judge_solved_on_training_episodes_as_the_seed_project_did():
    task = cartpole_task(rule="solved_then_eval", episodes=5, solve_window=3, threshold=100.0,
                         solved_on="training_episodes")
    assert score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, [150.0, 150.0, 150.0]).solved
    assert not score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, [150.0, 20.0, 100.0]).solved  # mean 90
    assert np.isclose(score_agent(AlwaysLeft(), gym.make("CartPole-v1"), task, [20.0] * 9).value, 1e-5)
