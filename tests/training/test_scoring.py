import gymnasium as gym
import pytest
import torch

from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.training.scoring import (
    EVAL_SEED_BASE,
    SOLVE_CHECK_BLOCK,
    TEST_BLOCK,
    SolveTracker,
    greedy_returns,
    score_agent,
    solved_in_training,
)


class AlwaysLeft:
    """A fixed CartPole policy (returns depend only on the episode seeds) with SB3's agent surface."""

    def __init__(self):
        self.num_timesteps = 123
        self.policy = torch.nn.Linear(1, 1)

    def predict(self, observation, deterministic=True):
        return 0, None


class SeedRecordingEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.seeds = []

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        return self.env.reset(seed=seed, options=options)


def tracker_for(**score):
    task = parse_class_args({"task": {"env": "CartPole-v1", "score": score}}).task
    return SolveTracker(task, SeedRecordingEnv(gym.make("CartPole-v1")))


def test_solved_in_training_needs_a_full_window_at_the_threshold():
    assert not solved_in_training([300.0] * 99, window=100, threshold=200)
    assert solved_in_training([0.0] * 50 + [200.0] * 100 + [0.0] * 50, window=100, threshold=200)
    assert not solved_in_training([0.0] * 50 + [200.0] * 99 + [0.0] * 50, window=100, threshold=200)


def test_evaluation_seeds_are_disjoint_from_training_and_from_the_solve_check():
    env = SeedRecordingEnv(gym.make("CartPole-v1"))
    greedy_returns(AlwaysLeft(), env, episodes=3, block=0)
    greedy_returns(AlwaysLeft(), env, episodes=3, block=1)
    assert env.seeds == [
        EVAL_SEED_BASE,
        EVAL_SEED_BASE + 1,
        EVAL_SEED_BASE + 2,
        2 * EVAL_SEED_BASE,
        2 * EVAL_SEED_BASE + 1,
        2 * EVAL_SEED_BASE + 2,
    ]


def test_mean_return_rule_scores_the_mean_greedy_return_on_the_test_block():
    tracker = tracker_for(rule="mean_return", episodes=10)
    expected = greedy_returns(AlwaysLeft(), gym.make("CartPole-v1"), 10, block=TEST_BLOCK)
    score = score_agent(AlwaysLeft(), tracker)
    assert score.value == pytest.approx(expected.mean())
    assert 5 < score.value < 20  # pushing left topples the pole within a few steps
    assert not score.solved


def test_seed_rule_gives_the_unsolved_score_below_the_threshold():
    tracker = tracker_for(rule="solved_then_eval", episodes=10, solve_window=10)
    assert not tracker.update(AlwaysLeft(), [], periodic_mean=None)
    score = score_agent(AlwaysLeft(), tracker)
    assert score.value == 1e-5 and not score.solved and score.mean_return is None


def test_a_periodic_mean_below_the_threshold_skips_the_full_check():
    tracker = tracker_for(rule="solved_then_eval", solve_window=10, threshold=5.0)
    assert not tracker.update(AlwaysLeft(), [], periodic_mean=4.0)
    assert tracker.eval_env.seeds == []
    assert tracker.update(AlwaysLeft(), [], periodic_mean=6.0)
    assert len(tracker.eval_env.seeds) == 10


def test_seed_rule_scores_the_weights_at_solve_time_on_a_different_seed_block():
    tracker = tracker_for(rule="solved_then_eval", episodes=10, solve_window=10, threshold=5.0, scale=30.0)
    agent = AlwaysLeft()
    torch.nn.init.constant_(agent.policy.weight, 1.0)
    assert tracker.update(agent, [], periodic_mean=None) and tracker.solved_at == 123
    torch.nn.init.constant_(agent.policy.weight, 2.0)  # training went on after solving
    score = score_agent(agent, tracker)
    other_block = greedy_returns(AlwaysLeft(), gym.make("CartPole-v1"), 10, block=1)
    assert score.solved and score.solved_at == 123
    assert score.value == pytest.approx(other_block.mean() / 30.0)
    assert agent.policy.weight.item() == 1.0


def test_seed_rule_can_judge_solved_on_training_episodes_as_the_seed_project_did():
    tracker = tracker_for(rule="solved_then_eval", solve_window=3, threshold=100.0, solved_on="training_episodes")
    assert not tracker.update(AlwaysLeft(), [150.0, 20.0, 100.0], periodic_mean=None)  # mean 90
    assert tracker.update(AlwaysLeft(), [150.0, 20.0, 100.0, 150.0, 150.0], periodic_mean=None)
    assert tracker.eval_env.seeds == []  # judged on training returns alone


class SolveCheckFlattersEnv(gym.Env):
    """One-step episodes whose return tells which block seeded them: 300 on the solve check's
    episodes (block 0), 100 on any other, so a score that reuses the solve check shows it."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.flattering = seed // EVAL_SEED_BASE == SOLVE_CHECK_BLOCK + 1
        return self.observation_space.sample() * 0, {}

    def step(self, action):
        return self.observation_space.sample() * 0, 300.0 if self.flattering else 100.0, True, False, {}


@pytest.mark.parametrize("rule", ["mean_return", "solved_then_eval"])
def test_a_solved_seed_is_scored_on_episodes_that_no_decision_read(rule):
    task = parse_class_args(
        {
            "task": {
                "env": "CartPole-v1",
                "score": {"rule": rule, "episodes": 10, "solve_window": 10, "threshold": 200.0, "stop_on_solve": True},
            }
        }
    ).task
    env = SeedRecordingEnv(SolveCheckFlattersEnv())
    tracker = SolveTracker(task, env)
    assert tracker.update(AlwaysLeft(), [], periodic_mean=None)  # solved on the solve check's 300s
    judged = set(env.seeds)
    score = score_agent(AlwaysLeft(), tracker)
    assert score.solved and score.mean_return == pytest.approx(100.0)  # the test episodes' return
    assert judged.isdisjoint(env.seeds[len(judged) :])
