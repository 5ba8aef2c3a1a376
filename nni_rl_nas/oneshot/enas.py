"""ENAS for RL agents (Pham et al. 2018): one supernet holds every architecture's weights.

The shared weights live in two supernets (online and target Q-network) made by NNI's one-shot
supermodules: every width choice of a layer is a leading slice of one matrix (``MixedLinear``).
The controller samples a child; the child is materialised as plain layers loaded from its slices
of the shared matrices (``MixedLinear.freeze_weight``) and swapped into the DQN agent; DQN's own
TD loss trains it for ``child_steps`` env steps; its weights go back into the shared slices; it
is scored by its greedy return, and that score trains the controller with REINFORCE. Training
the materialised child rather than the supernet costs what the child costs: the supernet's
widest matrices (2048 x 2048 in the seed space) would otherwise be updated whole at every
gradient step (measured: 19 env steps/s on LunarLander). The optimizer's moments restart with
each child. All of it runs inside one Stable-Baselines3 ``learn()`` call, so the exploration
schedule and the replay buffer are the agent's, shared by all children. With ``weight_sharing:
per_shape`` a layer of given input and output widths has weights of its own instead of a slice,
with ``per_activation`` each sequence of activations has a supernet of its own
(:class:`SharedWeights`); ``benchmarks/enas_ranking.py`` measures how each ranks the networks.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import nni
import numpy as np
import torch
from nni.nas.oneshot.pytorch.supermodule.operation import MixedLinear
from nni.nas.strategy import RandomOneShot
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.dqn.policies import DQNPolicy

from ..algorithms import NetworkFactory, build_agent
from ..controller import TOP_SHOWN, Reinforce, architecture_of, build_controller, most_likely
from ..files import write_atomically, write_json
from ..messages import SearchPoint, checked
from ..options import SEARCH_TRIAL_SCORE, EnasOptions
from ..spaces import Architecture, ArchitectureSpace, search_choices
from ..specs import TaskSpec
from ..training.curve import TrainingDiverged, check_finite_weights, over_time
from ..training.scoring import CURVE_BLOCK, TEST_BLOCK, greedy_returns
from .registry import search_of

logger = logging.getLogger(__name__)


def supernet_factory(build_space: Callable[[], ArchitectureSpace]) -> Callable[[], torch.nn.Module]:
    """Fresh supernets of the model space (one for the online and one for the target Q-network)."""
    return lambda: RandomOneShot().mutate_model(build_space())


def initial_supernet(make_supernet: Callable[[], torch.nn.Module], seed: int) -> torch.nn.Module:
    """The supernet's initial weights depend on the search seed only."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return make_supernet()


def shared_slices(supernet: torch.nn.Module, child: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Pairs (child parameter, its view into the supernet's shared tensor), layer by layer."""
    pairs = []
    shared_layers = [m for m in supernet.modules() if isinstance(m, MixedLinear)]
    child_layers = [m for m in child.modules() if isinstance(m, torch.nn.Linear)]
    for shared, layer in zip(shared_layers, child_layers, strict=True):
        views = shared.freeze_weight(layer.in_features, layer.out_features)
        pairs += [(layer.weight, views["weight"]), (layer.bias, views["bias"])]
    return pairs


class SharedWeights:
    """Every child's weights, shared as ``weight_sharing`` says.

    ``slices`` (ENAS, NNI's ``MixedLinear``): a width is the leading slice of one matrix per layer,
    so a layer's first units are trained by every child and the rest by the wide ones only.
    ``per_shape``: a layer with given input and output widths has weights of its own, so two
    children share a layer only where its widths on both sides agree (per width pair): what a
    wide child learns never moves a narrow child's units.
    ``per_activation``: slices, in one supernet per sequence of activations (a split of the
    supernet by those choices, as few-shot NAS splits it), so a relu child never trains the weights
    a tanh child reads. Every mode starts every child from its slice of the same initial supernet.
    """

    def __init__(self, supernet: torch.nn.Module, mode: str) -> None:
        self.supernet, self.mode = supernet, mode
        self.own: dict[str, torch.Tensor] = {}  # per_shape: "layer.in.out.weight" (and bias) -> tensor
        self.initial = copy.deepcopy(supernet) if mode == "per_activation" else None
        self.by_activations: dict[str, torch.nn.Module] = {}  # per_activation: "ReLU,Tanh" -> supernet

    def _supernet_of(self, child: torch.nn.Module) -> torch.nn.Module:
        if self.initial is None:
            return self.supernet
        activations = ",".join(
            type(module).__name__
            for module in child.modules()
            if not list(module.children()) and not isinstance(module, torch.nn.Linear)
        )
        if activations not in self.by_activations:
            self.by_activations[activations] = copy.deepcopy(self.initial)
        return self.by_activations[activations]

    def _pairs(self, child: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
        slices = shared_slices(self._supernet_of(child), child)
        if self.mode != "per_shape":
            return slices
        layers = [module for module in child.modules() if isinstance(module, torch.nn.Linear)]
        pairs = []
        for index, layer in enumerate(layers):  # shared_slices pairs each layer's weight, then its bias
            for kind, (parameter, view) in zip(("weight", "bias"), slices[2 * index : 2 * index + 2]):
                key = f"{index}.{layer.in_features}.{layer.out_features}.{kind}"
                if key not in self.own:
                    self.own[key] = view.detach().clone()
                pairs.append((parameter, self.own[key]))
        return pairs

    def load(self, child: torch.nn.Module) -> torch.nn.Module:
        """``child`` with its shared weights."""
        with torch.no_grad():
            for parameter, shared in self._pairs(child):
                parameter.copy_(shared)
        return child

    def store(self, child: torch.nn.Module) -> None:
        """Return the trained ``child``'s weights to where they are shared."""
        with torch.no_grad():
            for parameter, shared in self._pairs(child):
                shared.copy_(parameter)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor that holds shared weights, by a name that says whose they are."""
        tensors = {**self.supernet.state_dict(), **{f"own.{key}": tensor for key, tensor in self.own.items()}}
        for activations, supernet in self.by_activations.items():
            tensors |= {f"{activations}.{key}": tensor for key, tensor in supernet.state_dict().items()}
        return tensors

    def parameter_count(self) -> int:
        return sum(tensor.numel() for tensor in self.state_dict().values())


@dataclass
class ChildRecord:
    env_steps: int
    name: str
    score: float  # greedy return with the shared weights
    objective: float  # what the controller learnt from: the score less the size penalty (``cost``)


@dataclass
class SearchProgress:
    children: list[ChildRecord] = field(default_factory=list)
    curve: list[dict] = field(default_factory=list)


class ChildSwitchingCallback(BaseCallback):
    """Trains one sampled child at a time on the shared weights and the controller on their scores."""

    def __init__(
        self,
        space: ArchitectureSpace,
        make_supernet: Callable[[], torch.nn.Module],
        settings: EnasOptions,
        eval_env,
        output_dir: Path,
        time_limit: float | None = None,
    ) -> None:
        super().__init__()
        self.space = space
        self.make_supernet = make_supernet
        self.choices = search_choices(space)
        self.settings = settings
        self.eval_env = eval_env
        self.output_dir = output_dir
        self.controller = build_controller([len(v) for v in self.choices.values()], settings.controller)
        self.reinforce = Reinforce(self.controller, settings.controller)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.progress = SearchProgress()
        self._batch: list[ChildRecord] = []
        self._started = time.monotonic()
        self.time_limit = time_limit  # seconds; past it the search ends after the current child
        self.capped = False

    def _on_training_start(self) -> None:
        online = SharedWeights(initial_supernet(self.make_supernet, self.settings.seed), self.settings.weight_sharing)
        self.supernets = (online, copy.deepcopy(online))  # the target starts as a copy, as in DQN
        self._start_child()

    def _start_child(self) -> None:
        self._decisions = self.controller.sample(self.generator)
        self._architecture = architecture_of(self.choices, self._decisions)
        self.materialise(self._architecture)
        self._child_started = self.num_timesteps

    @property
    def policy(self) -> DQNPolicy:
        """The DQN agent's policy (SB3 types an agent's policy as its base class)."""
        return cast(DQNPolicy, self.model.policy)

    def materialise(self, architecture: Architecture) -> None:
        """Swap ``architecture``, loaded from the shared weights, into the agent's Q-networks."""
        policy = self.policy
        # SB3 declares its own Sequential as q_net; the child is any module with the same inputs and outputs
        policy.q_net.q_net = self.supernets[0].load(self.space.freeze(architecture))  # type: ignore[assignment]
        policy.q_net_target.q_net = self.supernets[1].load(self.space.freeze(architecture))  # type: ignore[assignment]
        learning_rate = self.model.lr_schedule(self.model._current_progress_remaining)
        # SB3 declares optimizer_class as type[Optimizer], whose constructor takes no lr; its subclasses do
        policy.optimizer = policy.optimizer_class(policy.parameters(), lr=learning_rate, **policy.optimizer_kwargs)  # type: ignore[call-arg]

    def write_back(self) -> None:
        """Return the trained child's weights to the shared slices."""
        self.supernets[0].store(self.policy.q_net.q_net)
        self.supernets[1].store(self.policy.q_net_target.q_net)

    def _on_step(self) -> bool:
        if self.num_timesteps - self._child_started >= self.settings.child_steps:
            self._finish_child()
            if over_time(self._started, self.time_limit):
                self.capped = True
                return False
            self._start_child()
        return True

    def _finish_child(self) -> None:
        self.write_back()
        check_finite_weights(self.model.policy, self.num_timesteps)
        score = float(greedy_returns(self.model, self.eval_env, self.settings.search_eval_episodes, CURVE_BLOCK).mean())
        if not math.isfinite(score):
            raise TrainingDiverged(
                f"child {self.space.architecture_name(self._architecture)} returned {score} "
                f"after {self.num_timesteps} env steps"
            )
        parameters = sum(p.numel() for p in self.policy.q_net.parameters())
        record = ChildRecord(
            int(self.num_timesteps),
            self.space.architecture_name(self._architecture),
            score,
            self.settings.cost.objective(score, parameters),
        )
        self.progress.children.append(record)
        self._batch.append(record)
        if self.reinforce.observe(self._decisions, record.objective):
            self._report_update()

    def _report_update(self) -> None:
        with torch.no_grad():
            entropy = float(
                np.mean([self.controller.evaluate(self.controller.sample(self.generator))[1].item() for _ in range(8)])
            )
        top = self.top_architectures(TOP_SHOWN)
        point = {
            "default": float(np.mean([r.score for r in self._batch])),
            **({"objective": float(np.mean([r.objective for r in self._batch]))} if self.settings.cost.active else {}),
            "controller_entropy": entropy,
            "baseline": self.reinforce.baseline,
            "most_likely": top[0][0],
            "top_probabilities": dict(top),  # the report's heatmap of the controller's top architectures
            "env_steps": int(self.num_timesteps),
            "children": len(self.progress.children),
            "wall_clock_s": round(time.monotonic() - self._started, 2),
        }
        self._batch = []
        self.progress.curve.append(point)
        nni.report_intermediate_result(checked(SearchPoint, point))
        logger.info(
            "controller update at %d env steps: mean child return %.1f, entropy %.3f, most likely %s",
            point["env_steps"],
            point["default"],
            entropy,
            point["most_likely"],
        )
        self.save_state()

    def top_architectures(self, k: int) -> list[tuple[str, float]]:
        """The k architectures the controller finds most likely, with their probabilities."""
        return [
            (self.space.architecture_name(architecture), probability)
            for architecture, probability in most_likely(self.controller, self.choices, k, self.generator)
        ]

    def save_state(self) -> None:
        """Controller, baseline and history, written atomically after every controller update."""
        state = self.reinforce.state_dict()
        write_atomically(self.output_dir / "controller.pt", lambda target: torch.save(state, target))
        write_json(
            self.output_dir / "search.json",
            {
                "baseline": self.reinforce.baseline,
                "children": [vars(r) for r in self.progress.children],
                "curve": self.progress.curve,
            },
        )


def enas_search(
    task: TaskSpec,
    space: ArchitectureSpace,
    build_space: Callable[[], ArchitectureSpace],
    settings: EnasOptions,
    output_dir: Path,
    device: str,
) -> tuple[BaseAlgorithm, ChildSwitchingCallback, dict]:
    """The search itself: its agent, the callback that holds the shared weights and the controller
    (``materialise`` puts any architecture in the agent with its shared weights), and its result."""
    eval_env = task.make_env()
    first = {label: values[0] for label, values in search_choices(space).items()}
    agent = build_agent(task, NetworkFactory(space, first), device)  # children replace it
    search = ChildSwitchingCallback(
        space,
        supernet_factory(build_space),
        settings,
        eval_env,
        output_dir,
        time_limit=settings.search_max_seconds or task.max_trial_seconds,
    )
    started = time.monotonic()
    agent.learn(total_timesteps=settings.search_timesteps or task.budget, callback=search)
    search.write_back()
    ranked = search.top_architectures(settings.top_k * settings.searches)
    top = ranked[: settings.top_k]
    shared_returns = []
    for name, _ in top:  # how each derived architecture does with the shared weights, on unseen seeds
        search.materialise(space.parse_architecture_name(name))
        shared_returns.append(float(greedy_returns(agent, eval_env, settings.search_eval_episodes, TEST_BLOCK).mean()))
    search.save_state()
    write_atomically(output_dir / "supernet.pt", lambda target: torch.save(search.supernets[0].state_dict(), target))
    return (
        agent,
        search,
        {
            "default": SEARCH_TRIAL_SCORE,
            "shared_return": shared_returns[0],  # the most likely architecture's greedy return with the shared weights
            "architecture": settings.search_name,
            "top_k": [name for name, _ in top],
            "top_k_probabilities": [p for _, p in top],
            "top_k_shared_returns": shared_returns,
            "ranked": [name for name, _ in ranked],  # most likely first: stand-ins when other searches took the top
            "children": len(search.progress.children),
            "env_steps": int(agent.num_timesteps),
            "capped": search.capped,
            "wall_clock_s": round(time.monotonic() - started, 2),
            "parameters": search.supernets[0].parameter_count(),
        },
    )


@search_of(EnasOptions)
def run_enas_search(
    task: TaskSpec,
    space: ArchitectureSpace,
    build_space: Callable[[], ArchitectureSpace],
    settings: EnasOptions,
    output_dir: Path,
    device: str,
) -> dict:
    """The ENAS search trial: returns its final result (the top-k derived architectures first)."""
    return enas_search(task, space, build_space, settings, output_dir, device)[2]
