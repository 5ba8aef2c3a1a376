"""The batched trainer (task.engine: batched): SB3's DQN update for every agent, and a trial like SB3's."""

import json

import numpy as np
import pytest
import torch
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch import nn

from nni_rl_nas.algorithms import NetworkFactory, build_agent
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import load_experiment, parse_class_args
from nni_rl_nas.training.batched_dqn import BatchedAgent, BatchedDQN, stack_networks
from nni_rl_nas.training.scoring import TEST_BLOCK, greedy_returns
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args

SEEDS = (0, 1, 2)


def cartpole_task(double_q: bool = False, **hyperparameters):
    space = {"family": "mlp", "depth": 1, "widths": [32], "activations": ["relu", "tanh", "sigmoid"]}
    return parse_class_args(
        {
            "space": space,
            "task": {
                "env": "CartPole-v1",
                "engine": "batched",
                "double_q": double_q,
                "total_timesteps": 5000,
                "hyperparameters": hyperparameters,
            },
        }
    )


@pytest.mark.parametrize(
    "double_q, architectures",
    [
        (False, ["32-relu"] * 3),
        (True, ["32-relu", "32-tanh", "32-relu"]),  # architectures of one shape share a trainer
    ],
)
def test_a_batched_update_is_sb3s_dqn_update_for_every_agent(double_q, architectures):
    """Same weights, same sampled transitions: three gradient steps of the batched trainer give each
    agent the weights SB3's own ``DQN.train`` gives it (Huber TD loss, target, clipping, Adam)."""
    spec = cartpole_task(double_q, learning_starts=0, train_freq=10_000, max_grad_norm=0.05)  # clipping active
    space = spec.build_space()
    build_networks = [NetworkFactory(space, space.parse_architecture_name(name)) for name in architectures]
    trainer = BatchedDQN(spec.task, build_networks, SEEDS, "cpu")
    for _ in range(300):
        trainer.step()
    with torch.no_grad():  # a target network different from the online one
        for parameter in trainer.q_net_target.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    batches = [trainer.replay.sample(trainer.replay_draws.take(64)) for _ in range(3)]

    expected = []
    for agent in range(len(SEEDS)):
        sb3 = build_agent(spec.task, build_networks[agent], "cpu")
        sb3.policy.q_net.q_net.load_state_dict(trainer.agent_network(agent))
        sb3.policy.q_net_target.q_net.load_state_dict(trainer.agent_network(agent, target=True))
        samples = iter(
            [
                ReplayBufferSamples(
                    observations[agent],
                    actions[agent].unsqueeze(-1),
                    next_observations[agent],
                    terminated[agent].unsqueeze(-1),
                    rewards[agent].unsqueeze(-1),
                )
                for observations, actions, rewards, terminated, next_observations in batches
            ]
        )
        sb3.replay_buffer.sample = lambda *args, samples=samples, **kwargs: next(samples)
        sb3.train(gradient_steps=3, batch_size=64)
        expected.append(sb3.policy.q_net.q_net.state_dict())

    trainer.replay.sample = lambda uniforms: [torch.cat(parts, dim=1) for parts in zip(*batches)]  # 3 x 64 at once
    before = trainer.agent_network(0)
    trainer.train(3)
    assert any(not torch.allclose(before[name], value) for name, value in trainer.agent_network(0).items())
    for agent, weights in enumerate(expected):
        for name, value in trainer.agent_network(agent).items():
            torch.testing.assert_close(value, weights[name], rtol=1e-5, atol=1e-6)


def test_the_target_network_follows_target_update_interval_and_exploration_sb3s_schedule():
    spec = cartpole_task(
        learning_starts=0,
        train_freq=4,
        gradient_steps=1,
        target_update_interval=50,
        exploration_fraction=0.5,
        exploration_final_eps=0.1,
    )
    space = spec.build_space()
    trainer = BatchedDQN(
        spec.task, [NetworkFactory(space, space.parse_architecture_name("32-relu"))] * len(SEEDS), SEEDS, "cpu"
    )
    for _ in range(49):
        trainer.step()
    stale = trainer.agent_network(1, target=True)
    assert any(not torch.equal(stale[name], value) for name, value in trainer.agent_network(1).items())
    trainer.step()  # env step 50: the target takes the online weights (tau = 1)
    online, target = trainer.agent_network(1), trainer.agent_network(1, target=True)
    assert all(torch.equal(online[name], target[name]) for name in online)
    assert trainer.exploration_rate == pytest.approx(1 - 0.9 * 50 / 2500)
    for _ in range(2500):
        trainer.step()
    assert trainer.exploration_rate == pytest.approx(0.1)


def test_greedy_returns_of_all_agents_at_once_are_each_agents_own_greedy_returns():
    spec = cartpole_task(learning_starts=0, train_freq=4, gradient_steps=1)
    space = spec.build_space()
    build_networks = [NetworkFactory(space, space.parse_architecture_name(name)) for name in ("32-relu", "32-tanh")]
    trainer = BatchedDQN(spec.task, build_networks * 2, (0, 1, 2, 3), "cpu")
    for _ in range(1500):
        trainer.step()
    together = trainer.greedy_returns([3, 0, 1], episodes=5, block=TEST_BLOCK, parallel=2)
    alone = [greedy_returns(BatchedAgent(trainer, agent), spec.task.make_env(), 5, TEST_BLOCK) for agent in (3, 0, 1)]
    np.testing.assert_array_equal(together, np.array(alone))
    assert len(np.unique(together)) > 3, "trained agents with different returns, or the check proves little"


def test_stacking_refuses_networks_it_would_compute_wrongly():
    with pytest.raises(ValueError, match="1 is a LayerNorm with weights; fix: task.engine: sb3"):
        stack_networks([nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8)) for _ in SEEDS])
    with pytest.raises(ValueError, match=r"mixes the agents' dimension\); fix: task.engine: sb3"):
        stack_networks([nn.Sequential(nn.Linear(4, 8), nn.Softmax(dim=0)) for _ in SEEDS])
    networks = [nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)) for _ in SEEDS]
    inputs = torch.randn(len(SEEDS), 5, 4)
    torch.testing.assert_close(stack_networks(networks)(inputs), torch.stack([n(x) for n, x in zip(networks, inputs)]))


def tiny_batched(raw, **task):
    class_args(raw)["task"].update(
        {
            "seed": 3,
            "seeds": 2,
            "total_timesteps": 1500,
            "report_every": 500,
            "score": {"rule": "mean_return", "episodes": 3},
            "hyperparameters": {"learning_starts": 0, "train_freq": 4, "gradient_steps": 1},
            **task,
        }
    )


def test_a_batched_trial_reports_what_an_sb3_trial_reports_and_saves_an_sb3_policy(
    write_experiment, tmp_path, monkeypatch
):
    results = {}
    for engine in ("sb3", "batched"):
        monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / engine))
        config = write_experiment(lambda raw, engine=engine: tiny_batched(raw, engine=engine), name=f"{engine}.yml")
        results[engine] = run_trial(config, "16-relu")
    batched = results["batched"]
    assert set(batched) == set(results["sb3"])
    assert batched["seeds"] == 2 and batched["env_steps"] == 3000 and batched["eval_episodes"] == 6
    assert batched["default"] == pytest.approx(sum(batched["seed_scores"]) / 2)
    record = json.loads((tmp_path / "batched" / "trial.json").read_text())
    assert [point["env_steps"] for point in record["curve"]] == [500, 1000, 1500]
    assert all(len(point["seed_defaults"]) == 2 for point in record["curve"])

    spec = load_experiment(tmp_path / "batched.yml").spec
    rebuilt = build_agent(spec.task, NetworkFactory(spec.build_space(), record["architecture"]), "cpu")
    rebuilt.policy.load_state_dict(torch.load(tmp_path / "batched" / "model.pt", weights_only=True))  # strict


def test_a_batched_seed_that_solves_stops_while_the_others_train_on(write_experiment, tmp_path, monkeypatch):
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    config = write_experiment(
        lambda raw: (
            tiny_batched(raw, engine="batched", seeds=3)
            or class_args(raw)["task"]["score"].update(
                rule="mean_return", threshold=30, solved_on="training_episodes", solve_window=3, stop_on_solve=True
            )
        )
    )
    result = run_trial(config, "16-relu")
    record = json.loads((tmp_path / "out" / "trial.json").read_text())
    assert 0 < result["solved_seeds"] < 3, "the test needs some seeds solved early and some not"
    assert result["env_steps"] < 3 * 1500, "a solved seed's steps stop counting"
    assert record["curve"][-1]["env_steps"] == 1500, "the unsolved seeds trained to the budget"
    assert result["training_episodes"] == record["curve"][-1]["episodes"], "a stopped seed's env counts no more"


def test_the_engine_and_its_options_are_checked_when_the_config_loads(write_experiment):
    with pytest.raises(ConfigError, match=r"task.engine: got 'jax'; fix: one of \['sb3', 'batched'\]"):
        load_experiment(write_experiment(lambda raw: class_args(raw)["task"].update(engine="jax")))
    with pytest.raises(
        ConfigError,
        match="task.hyperparameters.optimize_memory_usage: the batched engine does not "
        "implement optimize_memory_usage=True; fix: remove it, or train with "
        "task.engine: sb3",
    ):
        load_experiment(
            write_experiment(
                lambda raw: class_args(raw)["task"].update(
                    engine="batched", hyperparameters={"optimize_memory_usage": True}
                )
            )
        )
    with pytest.raises(ConfigError, match="task.hyperparameters.train_freq: the batched engine takes a number"):
        load_experiment(
            write_experiment(
                lambda raw: class_args(raw)["task"].update(
                    engine="batched", hyperparameters={"train_freq": [1, "episode"]}
                )
            )
        )
