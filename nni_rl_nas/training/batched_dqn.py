"""S DQN agents of one architecture trained in lockstep as one batched computation (``task.engine: batched``).

Why: most of a small Q-network's step time is per-call overhead (Python, op dispatch), not
arithmetic, so S separate Stable-Baselines3 runs pay that overhead S times. Here the S agents
step S environments (a gymnasium vector env) and their networks run as one computation: the
architecture's own module, with each ``nn.Linear`` replaced by the S agents' layers stacked into
one grouped matrix product (:class:`StackedLinear`). Measured here, ``torch.func.vmap`` over
``nn.Linear`` took 3x as long as the grouped ``baddbmm`` and more than 8 separate calls, so the
stacking is done by module rather than by ``vmap``.

For each agent this is Stable-Baselines3's DQN, with SB3's own constructor defaults filling what
the task does not set: a replay buffer per agent sampled uniformly with replacement; epsilon-greedy
exploration on SB3's linear schedule, uniform random actions before ``learning_starts``; every
``train_freq`` env steps past ``learning_starts``, ``gradient_steps`` updates (-1: as many as env
steps collected) on the Huber loss of the TD error against the target network's max (or the
double-DQN target); per-agent gradient-norm clipping at ``max_grad_norm``; Adam; a Polyak update
of the target network (``tau``) every ``target_update_interval`` env steps. An episode cut by a
time limit bootstraps from its last observation, as SB3's ``handle_timeout_termination`` does.
Adam and the Huber loss act elementwise, so one Adam over the stacked parameters and the sum of
the agents' mean losses train S independent agents. Each agent's randomness (network init, env,
exploration, replay sampling) comes from its own seed alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import cast

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.utils import LinearSchedule
from torch import nn

from ..algorithms.value_based import ArchitectureDQNPolicy
from ..engines import batched_options
from .scoring import EVAL_SEED_BASE


class StackedReplayBuffer:
    """One uniform replay buffer per agent, all in one tensor: a batch for every agent is one gather.

    A row holds observation, next observation, action, reward and ``terminated`` as float32
    (actions are small integers, exact in float32).
    """

    def __init__(self, agents: int, capacity: int, observation_size: int, device: str) -> None:
        self.capacity, self.position, self.size = capacity, 0, 0
        self.observation_size = observation_size
        self.rows = torch.zeros((agents, capacity, 2 * observation_size + 3), device=device)
        self.first_rows = torch.arange(agents, device=device).unsqueeze(1) * capacity  # of each agent, in the flat rows

    def add(
        self,
        observations: np.ndarray,
        next_observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        agents = len(observations)
        row = np.concatenate(
            [
                observations.reshape(agents, -1),
                next_observations.reshape(agents, -1),
                np.stack([actions, rewards, terminated], axis=1),
            ],
            axis=1,
        )
        self.rows[:, self.position] = torch.as_tensor(row, dtype=torch.float32)
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, uniforms: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One transition per agent for each of the agent's ``uniforms`` in [0, 1) (uniform with replacement):
        observations, actions, rewards, terminated, next observations (each (agents, batch, ...))."""
        indices = (uniforms * self.size).long().clamp_(max=self.size - 1).to(self.first_rows.device)
        rows = self.rows.view(-1, self.rows.shape[-1]).index_select(0, (indices + self.first_rows).flatten())
        batch = rows.view(*indices.shape, -1)
        size = self.observation_size
        return (
            batch[..., :size],
            batch[..., 2 * size].long(),
            batch[..., 2 * size + 1],
            batch[..., 2 * size + 2],
            batch[..., size : 2 * size],
        )


class AgentUniforms:
    """Uniform draws in [0, 1) from each agent's own generator, drawn ``chunk`` at a time.

    Why: drawing per agent per use (a replay batch, an exploration coin) cost one generator call per
    agent per env step, a tenth of a 16-agent step; drawing ahead changes no agent's randomness
    source, only when it is drawn.
    """

    def __init__(self, generators: Sequence[np.random.Generator], chunk: int) -> None:
        self.generators, self.chunk = generators, chunk
        self.ahead = torch.empty(len(generators), 0, dtype=torch.float64)

    def take(self, count: int) -> torch.Tensor:
        """The next ``count`` draws of every agent: (agents, count)."""
        if self.ahead.shape[1] < count:
            fresh = np.stack([generator.random(max(count, self.chunk)) for generator in self.generators])
            self.ahead = torch.cat([self.ahead, torch.from_numpy(fresh)], dim=1)
        taken, self.ahead = self.ahead[:, :count], self.ahead[:, count:]
        return taken


class StackedLinear(nn.Module):
    """The same ``nn.Linear`` of S agents as one layer: (S, batch, in) -> (S, batch, out) in one ``baddbmm``.

    ``weight`` is (S, out, in) and ``bias`` (S, out), so agent ``i``'s slice is a plain Linear's state.
    """

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        biases = None if layers[0].bias is None else torch.stack([layer.bias.detach() for layer in layers])
        self.bias = None if biases is None else nn.Parameter(biases)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(inputs, self.weight.mT)
        return torch.baddbmm(self.bias.unsqueeze(1), inputs, self.weight.mT)


class PerAgentModules(nn.Module):
    """Weightless modules that differ between agents (each architecture's activation), each applied to
    its own agents: the agents fall into runs of neighbours with one module, each run's slice of the
    (S, batch, features) input goes through its module, and the runs are joined.

    Why runs of slices: a slice is a view, so only the join copies. Measured on a 16-agent trainer,
    gathering and scattering each module's agents halved the env steps/s, and running every
    module on all agents and selecting cost more than the layers (``tanh`` is slow on CPU).
    Agents ordered by architecture make few runs.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        super().__init__()
        kinds: dict[str, int] = {}
        self.runs: list[tuple[int, int, int]] = []  # (first agent, last agent + 1, kind)
        for agent, module in enumerate(modules):
            kind = kinds.setdefault(repr(module), len(kinds))
            if self.runs and self.runs[-1][2] == kind:
                self.runs[-1] = (self.runs[-1][0], agent + 1, kind)
            else:
                self.runs.append((agent, agent + 1, kind))
        self.kinds = nn.ModuleList(modules[[repr(module) for module in modules].index(name)] for name in kinds)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.kinds[kind](inputs[start:end]) for start, end, kind in self.runs])


def stack_networks(networks: Sequence[nn.Module]) -> nn.Module:
    """One module computing all ``networks`` on (S, batch, features) inputs.

    The networks must have the same layout and ``nn.Linear`` shapes; they may differ in weightless
    modules (several architectures of one shape, e.g. 64-relu_64-relu and 64-tanh_64-tanh). Only
    ``nn.Linear`` layers may hold weights; the other modules run unchanged on the extra leading
    dimension, which a check on random inputs confirms: a network the stacking would get wrong
    is refused with the reason rather than trained wrongly. So no module of it acts differently in
    training and evaluation mode (one with weights or buffers is refused, dropout's randomness fails
    the check), and the trainer never switches modes: a switch walks every module, each env step.
    """
    layouts = {tuple(name for name, _ in network.named_modules()) for network in networks}
    if len(layouts) > 1:
        raise ValueError("task.engine: batched stacks networks of one layout; these have different modules")
    stacked, first_layer = copy.deepcopy(networks[0]), None
    for name, module in networks[0].named_modules():
        peers = [network.get_submodule(name) for network in networks]
        if isinstance(module, nn.Linear):
            if len({(peer.weight.shape, peer.bias is None) for peer in peers}) > 1:
                raise ValueError(f"task.engine: batched: layer {name} has different shapes across the networks")
            stacked.set_submodule(name, StackedLinear(cast(list[nn.Linear], peers)))  # one layout: all Linear
            first_layer = first_layer or module
        elif any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False)):
            raise ValueError(
                f"task.engine: batched stacks networks of nn.Linear layers; {name or 'the network'} is a "
                f"{type(module).__name__} with weights; fix: task.engine: sb3"
            )
        elif not list(module.children()) and len({repr(peer) for peer in peers}) > 1:
            stacked.set_submodule(name, PerAgentModules(peers))
    if first_layer is None:
        raise ValueError("task.engine: batched: the network has no nn.Linear layer; fix: task.engine: sb3")
    probe = torch.randn(len(networks), 3, first_layer.in_features, device=first_layer.weight.device)
    with torch.no_grad():
        expected = torch.stack([network(inputs) for network, inputs in zip(networks, probe)])
        if not torch.allclose(stacked(probe), expected, rtol=1e-4, atol=1e-5):
            raise ValueError(
                "task.engine: batched: the stacked network does not compute what each agent's network "
                "computes (an operation mixes the agents' dimension); fix: task.engine: sb3"
            )
    return stacked


class BatchedDQN:
    """DQN agents trained in lockstep, one env each: agent ``i`` has seed ``seeds[i]`` and the network
    ``build_networks[i]`` makes (the same architecture for a trial's seeds; architectures of one shape
    may share a trainer too)."""

    def __init__(
        self, task, build_networks: Sequence[Callable[[], nn.Module]], seeds: Sequence[int], device: str
    ) -> None:
        if len(build_networks) != len(seeds):
            raise ValueError(f"{len(build_networks)} networks for {len(seeds)} seeds: one network per agent")
        self.task, self.device, self.seeds, self.build_networks = task, device, list(seeds), list(build_networks)
        self.options = batched_options(task.algorithm_hyperparameters)
        self.envs = gym.wrappers.vector.RecordEpisodeStatistics(
            gym.vector.SyncVectorEnv(
                [task.make_env for _ in self.seeds], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
            )
        )
        observation_space, action_space = self.envs.single_observation_space, self.envs.single_action_space
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"DQN needs discrete actions, env has {action_space}")
        if not isinstance(observation_space, spaces.Box):
            raise ValueError(
                f"task.engine: batched needs Box observations, env has {observation_space}; fix: task.engine: sb3"
            )
        self.observation_space: spaces.Box = observation_space
        self.action_space: spaces.Discrete = action_space
        networks = []
        for seed, build_network in zip(self.seeds, self.build_networks):
            torch.manual_seed(seed)  # as SB3 seeds torch before building an agent's network
            networks.append(build_network().to(device))
        self.q_net = stack_networks(networks)
        self.q_net_target = copy.deepcopy(self.q_net).requires_grad_(False)
        # Adam is elementwise: one Adam over the stacked weights is S agents' Adams. ``fused`` is the
        # same update in one kernel (3x faster here than the default on CPU).
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=self.options["learning_rate"], fused=True)
        self.replay = StackedReplayBuffer(
            len(self.seeds), self.options["buffer_size"], int(np.prod(self.observation_space.shape)), device
        )
        self.generators = [np.random.default_rng(seed) for seed in self.seeds]
        # each agent's draws, from its own generator: exploration coins and replay indices
        self.exploration_draws = AgentUniforms(self.generators, chunk=4096)
        self.replay_draws = AgentUniforms(self.generators, chunk=64 * self.options["batch_size"])
        self.observations, _ = self.envs.reset(seed=self.seeds)  # type: ignore[arg-type]  # one seed per env
        self.num_timesteps = 0
        self.exploration_schedule = LinearSchedule(
            self.options["exploration_initial_eps"],
            self.options["exploration_final_eps"],
            self.options["exploration_fraction"],
        )
        self.exploration_rate = 0.0  # SB3's first action is greedy; the schedule starts after it
        self._evaluation_envs: list[gym.Env] = []

    def q_values(self, observations: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q-values of (agents, batch, *observation) observations: (agents, batch, actions)."""
        agents, batch = observations.shape[:2]
        shaped = observations.reshape(agents * batch, *self.observation_space.shape)
        features = cast(torch.Tensor, preprocess_obs(shaped, self.observation_space)).reshape(agents, batch, -1)
        return (self.q_net_target if target else self.q_net)(features)

    def step(self) -> list[tuple[int, float]]:
        """One env step of every agent, then training when due; returns (agent, return) of episodes that ended."""
        actions = self._actions()
        next_observations, rewards, terminated, truncated, infos = self.envs.step(actions)
        self.num_timesteps += 1
        stored_next = next_observations.copy()
        for agent in np.flatnonzero(infos.get("_final_obs", [])):
            stored_next[agent] = infos["final_obs"][agent]  # the last observation, not the next episode's first
        self.replay.add(self.observations, stored_next, actions, rewards, terminated)
        self.observations = next_observations
        if self.num_timesteps % max(self.options["target_update_interval"], 1) == 0:
            self._update_target()
        self.exploration_rate = self.exploration_schedule(1 - self.num_timesteps / self.task.budget)
        train_freq, gradient_steps = self.options["train_freq"], self.options["gradient_steps"]
        if self.num_timesteps % train_freq == 0 and self.num_timesteps > self.options["learning_starts"]:
            self.train(gradient_steps if gradient_steps >= 0 else train_freq)
        ended = np.flatnonzero(infos.get("_episode", []))
        return [(int(agent), float(infos["episode"]["r"][agent])) for agent in ended]

    def _actions(self) -> np.ndarray:
        """Greedy actions, each replaced by a uniform random one with probability ``exploration_rate``
        (before ``learning_starts``, always)."""
        coins, picks = self.exploration_draws.take(2).numpy().T
        random_actions = (picks * self.action_space.n).astype(np.int64)
        if self.num_timesteps < self.options["learning_starts"]:
            return random_actions
        observations = torch.as_tensor(self.observations, device=self.device).unsqueeze(1)
        with torch.no_grad():
            actions = self.q_values(observations).argmax(dim=-1).squeeze(1).cpu().numpy()
        return np.where(coins < self.exploration_rate, random_actions, actions)

    def train(self, gradient_steps: int) -> None:
        """``gradient_steps`` updates, their batches sampled at once (the buffer does not change between
        them) and, for plain DQN, their targets computed in one pass (nor does the target network)."""
        gamma, double_q, batch_size = self.options["gamma"], self.task.double_q, self.options["batch_size"]
        observations, actions, rewards, terminated, next_observations = self.replay.sample(
            self.replay_draws.take(gradient_steps * batch_size)
        )
        with torch.no_grad():
            next_q = self.q_values(next_observations, target=True)
            next_value = next_q.max(dim=-1).values
        for step in range(gradient_steps):
            batch = slice(step * batch_size, (step + 1) * batch_size)
            if double_q:
                with torch.no_grad():
                    best = self.q_values(next_observations[:, batch]).argmax(dim=-1, keepdim=True)
                    next_value[:, batch] = next_q[:, batch].gather(-1, best).squeeze(-1)
            targets = rewards[:, batch] + (1 - terminated[:, batch]) * gamma * next_value[:, batch]
            predicted = self.q_values(observations[:, batch]).gather(-1, actions[:, batch].unsqueeze(-1)).squeeze(-1)
            loss = F.smooth_l1_loss(predicted, targets, reduction="none").mean(dim=1).sum()
            self.optimizer.zero_grad()
            loss.backward()
            self._clip_gradients()
            self.optimizer.step()

    def _clip_gradients(self) -> None:
        """``clip_grad_norm_`` for each agent: the norm over that agent's slice of every parameter."""
        gradients = [parameter.grad for parameter in self.q_net.parameters() if parameter.grad is not None]
        norms = torch.linalg.vector_norm(torch.cat([gradient.flatten(1) for gradient in gradients], dim=1), dim=1)
        scale = (self.options["max_grad_norm"] / (norms + 1e-6)).clamp(max=1.0)
        torch._foreach_mul_(gradients, [scale.view(-1, *[1] * (gradient.dim() - 1)) for gradient in gradients])

    def _update_target(self) -> None:
        tau = self.options["tau"]
        with torch.no_grad():
            for target, online in zip(self.q_net_target.parameters(), self.q_net.parameters()):
                target.mul_(1 - tau).add_(online, alpha=tau)

    def greedy_returns(self, agents: Sequence[int], episodes: int, block: int, parallel: int = 10) -> np.ndarray:
        """Each of ``agents``' greedy returns over ``episodes`` seeded episodes: (len(agents), episodes).

        The episodes are :func:`.scoring.greedy_returns`'s (episode ``i`` of ``block`` resets with
        the same seed, the action is the Q-network's argmax), played for all agents at once:
        ``parallel`` episodes of each agent step in lockstep and one pass of the stacked network
        picks every action, instead of one small forward pass per agent per env step.
        """
        agents = list(agents)
        while len(self._evaluation_envs) < len(agents) * parallel:
            self._evaluation_envs.append(self.task.make_env())
        returns = np.zeros((len(agents), episodes))
        observations = np.zeros((len(self.seeds), parallel, *self.observation_space.shape), dtype=np.float32)
        for first in range(0, episodes, parallel):
            playing = {}  # env -> (row in returns, agent, episode)
            for row, agent in enumerate(agents):
                for episode in range(first, min(first + parallel, episodes)):
                    env = self._evaluation_envs[row * parallel + episode - first]
                    observations[agent, episode - first], _ = env.reset(seed=EVAL_SEED_BASE * (block + 1) + episode)
                    playing[env] = (row, agent, episode)
            while playing:
                with torch.no_grad():
                    actions = self.q_values(torch.as_tensor(observations, device=self.device)).argmax(dim=-1).cpu()
                for env, (row, agent, episode) in list(playing.items()):
                    observation, reward, terminated, truncated, _ = env.step(int(actions[agent, episode - first]))
                    observations[agent, episode - first] = observation
                    returns[row, episode] += float(reward)
                    if terminated or truncated:
                        del playing[env]
        return returns

    def agent_network(self, agent: int, target: bool = False) -> dict[str, torch.Tensor]:
        """The state dict of one agent's online (or target) network."""
        network = self.q_net_target if target else self.q_net
        return {name: value[agent].detach().clone() for name, value in network.state_dict().items()}


class BatchedAgent:
    """One agent of a :class:`BatchedDQN` seen as an SB3 agent (``predict``, ``policy``, ``num_timesteps``).

    Learning curves, solve checks, scoring and saving then treat it as they treat SB3's DQN: its
    ``policy`` is a real SB3 DQN policy, so a saved state dict loads into an SB3 agent for replay.
    The policy follows the trainer until :meth:`stop`; from then on it keeps its weights, so a
    scorer may load other weights into it.
    """

    def __init__(self, trainer: BatchedDQN, agent: int) -> None:
        self.trainer, self.agent = trainer, agent
        learning_rate = trainer.options["learning_rate"]
        self._policy = ArchitectureDQNPolicy(
            trainer.observation_space,
            trainer.action_space,
            lambda _: learning_rate,
            build_network=trainer.build_networks[agent],
        ).to(trainer.device)
        self._synced_at: int | None = None
        self.stopped = False

    @property
    def num_timesteps(self) -> int:
        return self._synced_at if self._synced_at is not None and self.stopped else self.trainer.num_timesteps

    @property
    def policy(self) -> ArchitectureDQNPolicy:
        self._sync()
        return self._policy

    def stop(self) -> None:
        """Keep the weights as they are now; the trainer may go on with the other agents."""
        self._sync()
        self.stopped = True

    def _sync(self) -> None:
        if not self.stopped and self._synced_at != self.trainer.num_timesteps:
            self._policy.q_net.q_net.load_state_dict(self.trainer.agent_network(self.agent))
            self._policy.q_net_target.q_net.load_state_dict(self.trainer.agent_network(self.agent, target=True))
            self._synced_at = self.trainer.num_timesteps

    def predict(self, observation: np.ndarray, state=None, episode_start=None, deterministic: bool = False):
        return self.policy.predict(observation, state, episode_start, deterministic)
