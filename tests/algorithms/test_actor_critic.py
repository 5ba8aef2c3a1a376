"""PPO and SAC agents whose dense layers, or whose image encoder, come from a model space."""

import torch
from stable_baselines3 import PPO, SAC
from torch import nn

from nni_rl_nas.algorithms import NetworkFactory, build_agent, trained_parameters
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.spaces import search_choices
from nni_rl_nas.training.seeds import train_over_seeds

SPACE = {"family": "mlp", "depth": 2, "widths": [32, 64], "activations": ["relu", "tanh"]}


def make(task: dict, architecture: str = "64-tanh_32-relu", space: dict = SPACE):
    spec = parse_class_args({"space": space, "task": task})
    built = spec.build_space()
    return spec, built, NetworkFactory(built, built.parse_architecture_name(architecture))


def linear_shapes(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_ppo_policy_and_value_networks_are_separate_instances_of_the_architecture():
    spec, _, network = make({"env": "CartPole-v1", "algorithm": "ppo"})
    agent = build_agent(spec.task, network, "cpu")
    assert type(agent) is PPO and agent.n_envs == 8, "the zoo's CartPole settings collect from 8 envs"
    extractor = agent.policy.mlp_extractor
    for net in (extractor.policy_net, extractor.value_net):
        assert linear_shapes(net) == [(4, 64), (64, 32)]
    assert extractor.policy_net is not extractor.value_net
    assert linear_shapes(agent.policy.action_net) == [(32, 2)] and linear_shapes(agent.policy.value_net) == [(32, 1)]
    assert trained_parameters(agent) == 2 * (4 * 64 + 64 + 64 * 32 + 32) + (32 * 2 + 2) + (32 + 1)


def test_sac_actor_and_critics_hidden_layers_are_the_architecture_and_critics_read_the_action():
    spec, _, network = make({"env": "Pendulum-v1", "algorithm": "sac"})
    agent = build_agent(spec.task, network, "cpu")
    assert type(agent) is SAC
    assert linear_shapes(agent.actor.latent_pi) == [(3, 64), (64, 32)]
    assert linear_shapes(agent.actor.mu) == [(32, 1)] and linear_shapes(agent.actor.log_std) == [(32, 1)]
    for critic in (agent.critic, agent.critic_target):
        assert len(critic.q_networks) == 2
        for q_network in critic.q_networks:
            assert linear_shapes(q_network) == [(3 + 1, 64), (64, 32), (32, 1)]
    assert {name for name, _ in agent.critic.named_children()} >= {"qf0", "qf1"}
    assert trained_parameters(agent) == sum(p.numel() for p in agent.actor.parameters()) + sum(
        p.numel() for p in agent.critic.parameters() if p.requires_grad
    )


def test_an_encoder_space_is_the_features_extractor_of_every_algorithm():
    space = {"family": "darts", "channels": [4, 4], "nodes": 2}
    for algorithm in ("ppo", "dqn"):
        spec = parse_class_args({"space": space, "task": {"env": "MinAtar/Breakout-v1", "algorithm": algorithm}})
        built = spec.build_space()
        architecture = {label: values[0] for label, values in search_choices(built).items()}
        agent = build_agent(spec.task, NetworkFactory(built, architecture), "cpu")
        extractor = agent.policy.features_extractor if algorithm == "ppo" else agent.q_net.features_extractor
        assert extractor.features_dim == 256
        assert type(extractor.encoder).__name__ == "DartsEncoderSpace"
        observation = torch.as_tensor(agent.env.reset()).float()
        assert observation.shape == (agent.n_envs, 4, 10, 10) and observation.max() <= 1.0
        agent.learn(256)
        assert agent.num_timesteps >= 256


def learned_score(task: dict, architecture: str) -> float:
    torch.set_num_threads(1)  # as a trial trains
    spec, _, network = make(
        {**task, "seeds": 1, "eval_episodes": 0, "score": {"episodes": 10, "solved_on": "training_episodes"}},
        architecture,
    )
    fields, _, _ = train_over_seeds(spec.task, network, "cpu")
    return fields["default"]


def test_a_short_ppo_run_learns_cartpole():
    # random play scores about 22; measured here (seed 0): 197.7 at 16000 env steps, 500.0 at 24000 (10 s)
    assert (
        learned_score(
            {"env": "CartPole-v1", "algorithm": "ppo", "total_timesteps": 24000, "report_every": 24000},
            "64-tanh_64-tanh",
        )
        > 200
    )


def test_a_short_sac_run_learns_pendulum():
    # random play scores about -1200; measured here (seed 0): -929 at 4000 env steps, -146 at 6000 (45 s)
    assert (
        learned_score(
            {"env": "Pendulum-v1", "algorithm": "sac", "total_timesteps": 6000, "report_every": 6000}, "64-relu_64-relu"
        )
        > -500
    )


def test_ppo_and_sac_train_on_continuous_actions():
    for env, algorithm, hyperparameters in (
        ("Pendulum-v1", "ppo", {"n_steps": 64}),  # the zoo's gSDE settings
        ("LunarLanderContinuous-v3", "ppo", {"n_steps": 64}),
        ("LunarLanderContinuous-v3", "sac", {"learning_starts": 64}),
    ):
        spec, _, network = make({"env": env, "algorithm": algorithm, "hyperparameters": hyperparameters})
        agent = build_agent(spec.task, network, "cpu")
        agent.learn(256)
        action, _ = agent.predict(agent.env.reset(), deterministic=True)
        assert action.shape == (agent.n_envs, *agent.action_space.shape)
        assert (action >= agent.action_space.low).all() and (action <= agent.action_space.high).all()
