import torch
from stable_baselines3 import DQN
from torch import nn

from nni_rl_nas.algorithms import NetworkFactory, build_agent
from nni_rl_nas.algorithms.value_based import DoubleDQN
from nni_rl_nas.experiment import parse_class_args

SPACE = {"family": "mlp", "depth": 2, "widths": [32, 64], "activations": ["relu", "tanh"]}


def make(double_q=False):
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {"env": "CartPole-v1", "double_q": double_q, "hyperparameters": {"learning_starts": 0}},
        }
    )
    space = spec.build_space()
    architecture = space.parse_architecture_name("64-tanh_32-relu")
    return build_agent(spec.task, NetworkFactory(space, architecture), "cpu")


def linear_shapes(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_q_network_and_target_are_the_frozen_architecture():
    agent = make()
    assert type(agent) is DQN
    for network in (agent.q_net.q_net, agent.q_net_target.q_net):
        assert linear_shapes(network) == [(4, 64), (64, 32), (32, 2)]
        assert [type(m) for m in network.modules() if isinstance(m, (nn.ReLU, nn.Tanh))] == [nn.Tanh, nn.ReLU]
    assert agent.q_net.q_net is not agent.q_net_target.q_net
    for online, target in zip(agent.q_net.parameters(), agent.q_net_target.parameters()):
        assert torch.equal(online, target)


def test_only_the_architecture_is_trained():
    agent = make()
    trained = sum(p.numel() for group in agent.policy.optimizer.param_groups for p in group["params"])
    assert trained == 4 * 64 + 64 + 64 * 32 + 32 + 32 * 2 + 2


def test_double_dqn_target_evaluates_the_online_argmax_with_the_target_network():
    agent = make(double_q=True)
    assert isinstance(agent, DoubleDQN)
    with torch.no_grad():  # make online and target disagree
        for parameter in agent.policy.q_net.parameters():
            parameter.add_(torch.randn_like(parameter))
    observations = torch.randn(16, 4)
    with torch.no_grad():
        online_best = agent.policy.q_net(observations).argmax(dim=1)
        target_q = agent.policy.q_net_target(observations)
        expected = target_q.gather(1, online_best[:, None]).squeeze(1)
        used_by_sb3 = agent.q_net_target(observations).max(dim=1).values
    assert torch.equal(used_by_sb3, expected)
    assert not torch.equal(used_by_sb3, target_q.max(dim=1).values)  # differs from the plain DQN target


def test_double_dqn_trains_and_updates_the_real_target_network():
    agent = make(double_q=True)
    agent.learn(600)
    assert agent.num_timesteps >= 600
    for online, target in zip(agent.policy.q_net.parameters(), agent.policy.q_net_target.parameters()):
        assert torch.isfinite(online).all() and torch.isfinite(target).all()
    assert list(agent.q_net_target.parameters())[0] is list(agent.policy.q_net_target.parameters())[0]
