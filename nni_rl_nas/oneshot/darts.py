"""The DARTS search trial: an agent whose encoder is the DARTS supernet, trained by its own RL loss.

RL-DARTS (Miao et al., 2022): the image encoder of a pixel-based agent is the continuous
relaxation of a cell space (NNI's one-shot DARTS supermodules: every edge of a cell is a
softmax-weighted sum of all operations, plus a "no edge" weight), and the agent's algorithm
(PPO, DQN) trains it with its usual loss. Here the architecture weights and the network weights
take turns: SB3's optimizer steps alternate between them (:class:`AlternatingOptimizer`), each
step on a fresh minibatch of the algorithm's own loss (first-order DARTS, the RL loss standing in
for both the training and the validation loss). At the end the supernet is discretised as DARTS
does (each node keeps its two strongest incoming edges, each with its strongest operation; NNI's
``export``), and that genotype is the search's result. Retrain trials then train it from scratch.

Intermediate results (what the web UI plots for a search trial): the agent's return (greedy, with
the supernet) and the mean entropy of the edges' operation weights, which falls as the search
commits to operations.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nni
import numpy as np
import torch
from nni.nas.strategy import DARTS
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule
from stable_baselines3.common.callbacks import BaseCallback

from ..algorithms import algorithm, build_agent
from ..files import write_atomically, write_json
from ..options import SEARCH_TRIAL_SCORE, DartsOptions
from ..specs import TaskSpec
from ..training.curve import check_finite_weights, over_time
from ..training.scoring import CURVE_BLOCK, greedy_returns

logger = logging.getLogger(__name__)


class AlternatingOptimizer:
    """Stands in for an SB3 optimizer: its steps alternate between network and architecture weights.

    SB3 calls ``zero_grad``, ``backward`` on its loss and ``step`` once per minibatch; every other
    step updates the architecture weights instead of the network weights, so each set learns from
    minibatches the other did not. ``param_groups`` are the network weights', so SB3's
    learning-rate schedule never touches the architecture's rate.
    """

    def __init__(self, weights: torch.optim.Optimizer, architecture: torch.optim.Optimizer) -> None:
        self.weights, self.architecture = weights, architecture
        self.param_groups = weights.param_groups
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.weights.zero_grad(set_to_none)
        self.architecture.zero_grad(set_to_none)

    def step(self) -> None:
        (self.weights if self.steps % 2 == 0 else self.architecture).step()
        self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.state_dict(), "architecture": self.architecture.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights.load_state_dict(state["weights"])
        self.architecture.load_state_dict(state["architecture"])
        self.steps = state["steps"]


@dataclass(frozen=True)
class SupernetFactory:
    """Fresh DARTS supernets of an encoder space, where agents take a network factory."""

    build_space: Callable[[], torch.nn.Module]
    part: str = "encoder"

    def __call__(self) -> torch.nn.Module:
        return DARTS().mutate_model(self.build_space())


def supernet_modules(supernet: torch.nn.Module) -> list[BaseSuperNetModule]:
    """NNI's one-shot supermodules inside ``supernet``: what holds and exports architecture weights."""
    return [module for module in supernet.modules() if isinstance(module, BaseSuperNetModule)]


def architecture_weights(supernet: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The supernet's architecture weights (one vector per edge; cells of one kind share them)."""
    unique: dict[int, torch.nn.Parameter] = {}
    for module in supernet_modules(supernet):
        for parameter in module.arch_parameters():
            unique.setdefault(id(parameter), parameter)
    return list(unique.values())


def mean_entropy(alphas: list[torch.Tensor]) -> float:
    """Mean entropy (nats) of the edges' softmaxed operation weights; log(n) when undecided."""
    with torch.no_grad():
        return float(np.mean([-(torch.softmax(a, -1) * torch.log_softmax(a, -1)).sum().item() for a in alphas]))


def discretise(supernet: torch.nn.Module) -> dict[str, Any]:
    """DARTS's discretisation of the supernet (NNI's export): per node, top-2 edges by their
    strongest operation, "no edge" excluded; returns the architecture as a sample of the space."""
    memo: dict[str, Any] = {}
    for module in supernet_modules(supernet):
        memo.update(module.export(memo))
    return memo


def operation_weights(supernet: torch.nn.Module) -> dict[str, dict[str, float]]:
    """Every edge's softmaxed weights, by operation (NNI's ``export_probs``)."""
    probabilities: dict[str, dict[str, float]] = {}
    for module in supernet_modules(supernet):
        probabilities.update(module.export_probs(probabilities))
    return probabilities


def alternate_updates(agent, algorithm_name: str, settings: DartsOptions) -> list[torch.nn.Parameter]:
    """Split the agent's optimizer into network and architecture weights, stepping in turns."""
    alphas = architecture_weights(algorithm(algorithm_name).features_extractor(agent).encoder)
    alpha_ids = {id(a) for a in alphas}
    policy = agent.policy
    weights = [p for group in policy.optimizer.param_groups for p in group["params"] if id(p) not in alpha_ids]
    weight_optimizer = policy.optimizer_class(weights, lr=policy.optimizer.param_groups[0]["lr"],
                                              **policy.optimizer_kwargs)
    arch_optimizer = torch.optim.Adam(alphas, lr=settings.arch_learning_rate, betas=(0.5, 0.999),
                                      weight_decay=settings.arch_weight_decay)
    policy.optimizer = AlternatingOptimizer(weight_optimizer, arch_optimizer)
    return alphas


class SearchProgressCallback(BaseCallback):
    """Every ``task.report_every`` env steps: the supernet agent's greedy return and the
    architecture weights' entropy, reported to NNI; training ends at the search's time cap."""

    def __init__(self, task, alphas: list[torch.Tensor], eval_env, settings: DartsOptions) -> None:
        super().__init__()
        self.task, self.alphas, self.eval_env, self.settings = task, alphas, eval_env, settings
        self.next_report = task.report_every
        self.curve: list[dict[str, Any]] = []
        self.episode_returns: list[float] = []
        self.started = time.monotonic()
        self.capped = False

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.episode_returns.append(float(info["episode"]["r"]))
        if self.num_timesteps >= self.next_report:
            self.next_report += self.task.report_every
            self.report()
        if over_time(self.started, self.settings.search_max_seconds or self.task.max_trial_seconds):
            self.capped = True
            return False
        return True

    def report(self) -> dict[str, Any]:
        check_finite_weights(self.model.policy, self.num_timesteps)
        greedy = float(greedy_returns(self.model, self.eval_env, self.settings.search_eval_episodes, CURVE_BLOCK).mean())
        recent = self.episode_returns[-100:]
        point = {"default": greedy, "greedy_return": greedy,
                 "training_return": float(np.mean(recent)) if recent else None,
                 "arch_entropy": mean_entropy(self.alphas), "env_steps": int(self.num_timesteps),
                 "wall_clock_s": round(time.monotonic() - self.started, 2)}
        self.curve.append(point)
        nni.report_intermediate_result(point)
        logger.info("DARTS search at %d env steps: greedy return %.2f, architecture entropy %.4f",
                    point["env_steps"], greedy, point["arch_entropy"])
        return point


def run_darts_search(task: TaskSpec, space, build_space: Callable[[], torch.nn.Module], settings: DartsOptions,
                     output_dir: Path, device: str) -> dict:
    """The DARTS search trial: returns its final result, the derived genotype first."""
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)  # the supernet's initial weights depend on the search seed
        agent = build_agent(dataclasses.replace(task, seed=settings.seed), SupernetFactory(build_space), device)
    alphas = alternate_updates(agent, task.algorithm, settings)
    eval_env = task.make_env()
    progress = SearchProgressCallback(task, alphas, eval_env, settings)
    started = time.monotonic()
    agent.learn(total_timesteps=settings.search_timesteps or task.budget, callback=progress)
    last = progress.curve[-1] if progress.curve else None
    final = last if last and last["env_steps"] == agent.num_timesteps else progress.report()
    encoder = algorithm(task.algorithm).features_extractor(agent).encoder
    architecture = discretise(encoder)
    name = space.architecture_name(architecture)
    write_json(output_dir / "darts_search.json", {"architecture": architecture, "name": name,
                                                   "operation_weights": operation_weights(encoder),
                                                   "curve": progress.curve})
    write_atomically(output_dir / "supernet.pt", lambda target: torch.save(encoder.state_dict(), target))
    logger.info("DARTS search derived %s", name)
    return {
        "default": SEARCH_TRIAL_SCORE,
        "supernet_return": final["default"],  # the supernet agent's greedy return at the end of the search
        "architecture": settings.search_name,
        "derived": name,
        "top_k": [name],
        "arch_entropy": final["arch_entropy"],
        "max_entropy": math.log(len(alphas[0])) if alphas else None,
        "env_steps": int(agent.num_timesteps),
        "capped": progress.capped,
        "wall_clock_s": round(time.monotonic() - started, 2),
        "parameters": sum(p.numel() for p in encoder.parameters()),
    }

