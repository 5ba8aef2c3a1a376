"""The DARTS search trial: an agent whose encoder is the DARTS supernet, trained by its own RL loss.

RL-DARTS (Miao et al., 2022): the image encoder of a pixel-based agent is the continuous
relaxation of a cell space (NNI's one-shot DARTS supermodules: every edge of a cell is a
weighted sum of all operations, "no edge" included, the weights a softmax of the architecture
weights over RL-DARTS's temperature; computed by :mod:`.fused_cell`), and the agent's algorithm
(PPO, DQN) trains it with its usual loss. Here the architecture weights and the network weights
take turns: SB3's optimizer steps alternate between them (:class:`AlternatingOptimizer`), each
step on a fresh minibatch of the algorithm's own loss (first-order DARTS, the RL loss standing in
for both the training and the validation loss), the architecture's rate following its warmup and
schedule (:func:`architecture_rate`). At the end the supernet is discretised as RL-DARTS does
(:func:`discretise`), and that genotype is the search's result; with ``selection: sequential``
the nodes are instead decided one at a time during the search (:class:`SequentialSelection`),
and with ``selection: perturbation`` by what removing an operation changes in the agent's policy
(:class:`PerturbationSelection`).
Retrain trials then train it from scratch.

Intermediate results (what the web UI plots for a search trial), also kept in
``darts_search.json``: the agent's greedy return with the supernet, every edge's operation
weights, their mean entropy, which falls as the search commits to operations, and the genotype
that discretising at that point would give.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import nni
import numpy as np
import torch
from nni.nas.oneshot.pytorch.supermodule.base import BaseSuperNetModule
from nni.nas.oneshot.pytorch.supermodule.differentiable import DifferentiableMixedCell
from nni.nas.strategy import DARTS
from stable_baselines3.common.callbacks import BaseCallback

from ..algorithms import algorithm, build_agent
from ..files import write_atomically, write_json
from ..messages import SearchPoint, checked
from ..options import SEARCH_TRIAL_SCORE, DartsOptions
from ..spaces.darts import OPS_PER_NODE, ZERO, input_label, op_label
from ..specs import TaskSpec
from ..training.curve import check_finite_weights, over_time
from ..training.scoring import CURVE_BLOCK, greedy_returns
from .fused_cell import FusedDifferentiableCell
from .registry import search_of

logger = logging.getLogger(__name__)


class AlternatingOptimizer:
    """Stands in for an SB3 optimizer: its steps alternate between network and architecture weights.

    SB3 calls ``zero_grad``, ``backward`` on its loss and ``step`` once per minibatch; every other
    step updates the architecture weights instead of the network weights, so each set learns from
    minibatches the other did not; while the architecture's rate is 0 (a warmup), every step is
    the network weights'. ``param_groups`` are the network weights', so SB3's learning-rate
    schedule never touches the architecture's rate.
    """

    def __init__(self, weights: torch.optim.Optimizer, architecture: torch.optim.Optimizer) -> None:
        self.weights, self.architecture = weights, architecture
        self.param_groups = weights.param_groups
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.weights.zero_grad(set_to_none)
        self.architecture.zero_grad(set_to_none)

    def step(self) -> None:
        architecture_turn = self.steps % 2 == 1 and self.architecture.param_groups[0]["lr"] > 0
        (self.architecture if architecture_turn else self.weights).step()
        self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.state_dict(),
            "architecture": self.architecture.state_dict(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights.load_state_dict(state["weights"])
        self.architecture.load_state_dict(state["architecture"])
        self.steps = state["steps"]


class TemperedSoftmax(torch.nn.Module):
    """``softmax(alpha / temperature)``: RL-DARTS's softmax temperature; below 1 it sharpens the
    operation weights, so the supernet's mixture is nearer the cell that discretising keeps."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, alpha: torch.Tensor) -> torch.Tensor:
        return torch.softmax(alpha / self.temperature, -1)


class TemperedDarts(DARTS):
    """NNI's DARTS relaxation with its softmax swapped for :class:`TemperedSoftmax`, through the
    strategy's own ``configure_softmax`` hook (as NNI's GumbelDARTS swaps in gumbel-softmax), and
    its cells computed by :class:`FusedDifferentiableCell`, through its mutation hooks."""

    def __init__(self, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature

    def configure_softmax(self) -> torch.nn.Module:
        return TemperedSoftmax(self.temperature)

    def default_mutation_hooks(self) -> list:
        return [
            FusedDifferentiableCell.mutate if hook == DifferentiableMixedCell.mutate else hook
            for hook in super().default_mutation_hooks()
        ]


@dataclass(frozen=True)
class SupernetFactory:
    """Fresh DARTS supernets of an encoder space, where agents take a network factory."""

    build_space: Callable[[], torch.nn.Module]
    temperature: float = 1.0
    part: str = "encoder"

    def __call__(self) -> torch.nn.Module:
        return TemperedDarts(self.temperature).mutate_model(self.build_space())


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


def mean_entropy(weights: dict[str, dict[str, float]]) -> float:
    """Mean entropy (nats) of the edges' operation weights (:func:`operation_weights`, so with
    the relaxation's temperature); log(number of operations) when undecided."""
    return float(np.mean([-sum(p * math.log(p) for p in edge.values() if p > 0) for edge in weights.values()]))


def operation_weights(supernet: torch.nn.Module) -> dict[str, dict[str, float]]:
    """Every edge's softmaxed weights by operation, keyed ``<cell kind>/<node>_<state>``; "no
    edge" last, as ``zero`` (NNI's ``export_probs`` leaves that weight unnamed)."""
    probabilities: dict[str, dict[str, float]] = {}
    for module in supernet_modules(supernet):
        alphas = getattr(module, "_arch_alpha", {})
        for edge, weights in module.export_probs(probabilities).items():
            if edge in alphas and len(alphas[edge]) > len(weights):
                with torch.no_grad():
                    weights = {**weights, ZERO: float(module._softmax(alphas[edge])[-1])}
            probabilities[edge] = weights
    return probabilities


def node_candidates(weights: dict[str, dict[str, float]]) -> dict[tuple[str, int], list[tuple[float, int, str]]]:
    """Per node (``(cell kind, node)``), the operations on its edges other than zero, as ``(weight,
    state, operation)``, ranked as DARTS's discretisation takes them: each earlier state's strongest
    operation first (the strongest of those first), then the rest."""
    candidates: dict[tuple[str, int], list[tuple[float, int, str]]] = {}
    for edge, probabilities in weights.items():
        kind, pair = edge.rsplit("/", 1)
        node, state = map(int, pair.split("_"))
        candidates.setdefault((kind, node), []).extend(
            (weight, state, op) for op, weight in probabilities.items() if op != ZERO
        )
    for ranked in candidates.values():
        ranked.sort(key=lambda candidate: -candidate[0])
        strongest_per_state = [
            next(c for c in ranked if c[1] == state) for state in dict.fromkeys(c[1] for c in ranked)
        ]
        ranked[:] = strongest_per_state + [c for c in ranked if c not in strongest_per_state]
    return candidates


def kept(ranked: list[tuple[float, int, str]]) -> list[tuple[float, int, str]]:
    """The node's two inputs discretising keeps: the first two candidates (a node with one earlier
    state keeps that edge's two strongest operations: NNI's cells give every node two)."""
    return [ranked[slot % len(ranked)] for slot in range(OPS_PER_NODE)]


def discretise(weights: dict[str, dict[str, float]]) -> dict[str, Any]:
    """DARTS's discretisation, as RL-DARTS does it: each edge's strongest operation other than
    zero, and per node the two edges whose such operation weighs most (so an edge whose "no edge"
    weight took the mass ranks low; :func:`node_candidates`). Returns the architecture as a sample
    of the space."""
    architecture: dict[str, Any] = {}
    for (kind, node), ranked in node_candidates(weights).items():
        for slot, (_, state, op) in enumerate(kept(ranked)):
            architecture[op_label(kind, node, slot)], architecture[input_label(kind, node, slot)] = op, [state]
    return architecture


class SequentialSelection:
    """SGAS's sequential greedy selection (Li et al., 2020), by node: at evenly spaced points of the
    search, the undecided node whose choice is clearest is decided as discretising would decide it
    now, and fixed: on its kept edges every operation but the kept ones, on its other edges every
    one but "no edge", gets weight 0, and those architecture weights stop learning (a node that
    keeps two operations of one edge keeps their relative weights, and so the genotype's order);
    the network weights go on training around the decision. The last node is decided at
    ``decided_by`` of the search, so the rest of the search trains the cell it will derive.

    A node's clarity is the share of its non-zero operation weight that discretising keeps,
    rescaled so that uniform weights give 0 and weights on the kept operations only give 1 (a node
    with more edges keeps a smaller share of uniform weights)."""

    FIXED_OUT = -1e4  # an architecture weight whose operation the softmax then gives exactly 0

    def __init__(self, supernet: torch.nn.Module, settings: DartsOptions) -> None:
        self.supernet = supernet
        self.undecided = list(node_candidates(operation_weights(supernet)))
        first = settings.arch_warmup
        self.due_at = [
            first + (settings.decided_by - first) * (k + 1) / len(self.undecided) for k in range(len(self.undecided))
        ]
        self.decisions: list[dict[str, Any]] = []

    def due(self, progress: float) -> bool:
        return bool(self.undecided) and progress >= self.due_at[len(self.decisions)]

    def decide(self, env_steps: int) -> dict[str, Any]:
        """Decide and fix the next node (:meth:`choose`); returns the decision as recorded."""
        candidates = node_candidates(operation_weights(self.supernet))
        node, inputs, measures = self.choose(candidates)
        kind, index = node
        for state in dict.fromkeys(state for _, state, _ in candidates[node]):
            chosen = {op for _, kept_state, op in inputs if kept_state == state} or {ZERO}
            self.fix_edge(f"{kind}/{index}_{state}", chosen)
        self.undecided.remove(node)
        decision = {"env_steps": env_steps, "node": f"{kind}/{index}", **measures}
        decision["inputs"] = [f"{op}@{state}" for _, state, op in inputs]
        self.decisions.append(decision)
        return decision

    def choose(
        self, candidates: dict[tuple[str, int], list[tuple[float, int, str]]]
    ) -> tuple[tuple[str, int], list[tuple[float, int, str]], dict[str, Any]]:
        """The clearest undecided node, the inputs discretising keeps, and its clarity."""

        def total(ranked: list[tuple[float, int, str]]) -> float:
            return sum(weight for weight, _, _ in ranked)

        def clarity(node: tuple[str, int]) -> float:
            share = total(kept(candidates[node])) / total(candidates[node])
            uniform = OPS_PER_NODE / len(candidates[node])
            return (share - uniform) / (1 - uniform)

        clarities = {node: clarity(node) for node in self.undecided}
        node = max(clarities, key=lambda candidate: clarities[candidate])
        return node, kept(candidates[node]), {"clarity": round(clarities[node], 4)}

    def edge_weights(self, edge: str) -> tuple[torch.nn.Parameter, list[str]]:
        """The edge's architecture weights, and their operations in NNI's order ("no edge" last)."""
        for module in supernet_modules(self.supernet):
            alphas = getattr(module, "_arch_alpha", {})
            if edge in alphas:
                return alphas[edge], list(module.op_names) + [ZERO]
        raise KeyError(f"no architecture weights for edge {edge}")

    def fix_edge(self, edge: str, chosen: set[str]) -> None:
        """The edge's weights: 0 but on the ``chosen`` operations, and frozen."""
        alpha, names = self.edge_weights(edge)
        with torch.no_grad():
            for index, name in enumerate(names):
                if name not in chosen:
                    alpha[index] = self.FIXED_OUT
        alpha.requires_grad_(False)  # Adam skips a weight without a gradient


class PerturbationSelection(SequentialSelection):
    """Perturbation-based selection (Wang et al., ICLR 2021, "Rethinking architecture selection in
    differentiable NAS"), on SequentialSelection's schedule: an operation is as strong as the
    supernet's behaviour depends on it, not as its architecture weight says, which in DARTS can
    grow on a parameter-free operation that matters little (the collapse to skips). Its measure
    here is the agent's own: the mean KL divergence, over recent rollout observations, from the
    supernet's action distribution to the one with the operation removed from its edge (its
    weight set to 0, the edge's others renormalised). The nodes are decided in order (Wang et al.
    found the order to matter little), each keeping the inputs of largest divergence as
    discretising ranks them (:func:`node_candidates`, :func:`kept`); the network weights go on
    training between decisions, which is the paper's fine-tuning."""

    PROBE_OBSERVATIONS = 1024  # rollout observations the divergence averages over, at most

    def __init__(self, supernet: torch.nn.Module, settings: DartsOptions, agent) -> None:
        super().__init__(supernet, settings)
        self.agent = agent
        self.undecided.sort()

    def choose(
        self, candidates: dict[tuple[str, int], list[tuple[float, int, str]]]
    ) -> tuple[tuple[str, int], list[tuple[float, int, str]], dict[str, Any]]:
        """The first undecided node, the inputs whose removal changes the policy most, and each
        candidate's divergence."""
        node = self.undecided[0]
        kind, index = node
        observations = self.probe_observations()
        full = self.action_probabilities(observations)
        divergences: dict[str, dict[str, float]] = {}
        for _, state, op in candidates[node]:
            edge = f"{kind}/{index}_{state}"
            with self.removed(edge, op):
                perturbed = self.action_probabilities(observations)
            divergence = (full * (full.clamp_min(1e-12).log() - perturbed.clamp_min(1e-12).log())).sum(-1).mean()
            divergences.setdefault(edge, {})[op] = float(divergence)
        inputs = kept(node_candidates(divergences)[node])
        measured = {
            f"{op}@{edge.rsplit('_', 1)[1]}": float(f"{d:.4g}")
            for edge, ops in divergences.items()
            for op, d in ops.items()
        }
        return node, inputs, {"divergence": measured}

    def probe_observations(self) -> torch.Tensor:
        """The rollout buffer's observations (the current rollout's so far, the last one's after it),
        an evenly spaced subset of at most PROBE_OBSERVATIONS."""
        buffer = self.agent.rollout_buffer
        observations = buffer.observations.reshape(-1, *buffer.obs_shape)
        step = max(1, len(observations) // self.PROBE_OBSERVATIONS)
        return torch.as_tensor(observations[::step][: self.PROBE_OBSERVATIONS], device=self.agent.device)

    def action_probabilities(self, observations: torch.Tensor) -> torch.Tensor:
        policy = self.agent.policy
        training = policy.training
        policy.set_training_mode(False)  # BatchNorm on running statistics: every probe alike
        try:
            with torch.no_grad():
                return policy.get_distribution(observations).distribution.probs
        finally:
            policy.set_training_mode(training)

    @contextlib.contextmanager
    def removed(self, edge: str, op: str):
        """``op`` weighs 0 on ``edge`` inside the block; its architecture weights are restored after."""
        alpha, names = self.edge_weights(edge)
        saved = alpha.detach().clone()
        with torch.no_grad():
            alpha[names.index(op)] = self.FIXED_OUT
        try:
            yield
        finally:
            with torch.no_grad():
                alpha.copy_(saved)


def selection_of(encoder: torch.nn.Module, agent, settings: DartsOptions) -> SequentialSelection | None:
    """The selection that decides nodes during the search, or None (the weights at its end)."""
    if settings.selection == "sequential":
        return SequentialSelection(encoder, settings)
    if settings.selection == "perturbation":
        return PerturbationSelection(encoder, settings, agent)
    return None


def alternate_updates(agent, algorithm_name: str, settings: DartsOptions) -> None:
    """Split the agent's optimizer into network and architecture weights, stepping in turns."""
    alphas = architecture_weights(algorithm(algorithm_name).encoder(agent))
    alpha_ids = {id(a) for a in alphas}
    policy = agent.policy
    weights = [p for group in policy.optimizer.param_groups for p in group["params"] if id(p) not in alpha_ids]
    weight_optimizer = policy.optimizer_class(
        weights, lr=policy.optimizer.param_groups[0]["lr"], **policy.optimizer_kwargs
    )
    arch_optimizer = torch.optim.Adam(
        alphas, lr=settings.arch_learning_rate, betas=(0.5, 0.999), weight_decay=settings.arch_weight_decay
    )
    policy.optimizer = AlternatingOptimizer(weight_optimizer, arch_optimizer)


def architecture_rate(settings: DartsOptions, progress: float) -> float:
    """Adam's rate on the architecture weights at ``progress`` (0 to 1, SB3's own, as its schedules
    read it): 0 during the warmup, then constant or falling linearly to 0 at the search's end."""
    if progress < settings.arch_warmup:
        return 0.0
    if settings.arch_learning_rate_schedule == "linear":
        return settings.arch_learning_rate * max(0.0, 1.0 - progress) / (1.0 - settings.arch_warmup)
    return settings.arch_learning_rate


def auxiliary_skip(settings: DartsOptions, progress: float) -> float:
    """DARTS-'s beta at ``progress`` (0 to 1): ``auxiliary_skip`` falling linearly to 0 at the end."""
    return settings.auxiliary_skip * max(0.0, 1.0 - progress)


class SearchProgressCallback(BaseCallback):
    """Every ``task.report_every`` env steps: the supernet agent's greedy return, the edges'
    operation weights, their mean entropy and the genotype that discretising now would give,
    reported to NNI and written to ``darts_search.json`` (so a search cut short keeps its record);
    training ends at the search's time cap."""

    def __init__(self, task, space, encoder: torch.nn.Module, eval_env, settings: DartsOptions, record: Path) -> None:
        super().__init__()
        self.task, self.space, self.encoder, self.eval_env, self.settings = task, space, encoder, eval_env, settings
        self.record = record
        self.next_report = task.report_every
        self.curve: list[dict[str, Any]] = []
        self.episode_returns: list[float] = []
        self.started = time.monotonic()
        self.capped = False
        self.selection: SequentialSelection | None = None  # made once the callback knows its agent
        self.cells = [module for module in encoder.modules() if isinstance(module, FusedDifferentiableCell)]

    def _init_callback(self) -> None:
        self.selection = selection_of(self.encoder, self.model, self.settings)

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.episode_returns.append(float(info["episode"]["r"]))
        optimizer = cast(AlternatingOptimizer, self.model.policy.optimizer)  # alternate_updates put it there
        progress = 1.0 - self.model._current_progress_remaining
        for group in optimizer.architecture.param_groups:
            group["lr"] = architecture_rate(self.settings, progress)
        if self.settings.auxiliary_skip:
            for cell in self.cells:
                cell.auxiliary_skip = auxiliary_skip(self.settings, progress)
        while self.selection and self.selection.due(self.num_timesteps / self.model._total_timesteps):
            decision = self.selection.decide(self.num_timesteps)
            logger.info(
                "DARTS search at %d env steps decided %s: %s",
                decision["env_steps"],
                decision["node"],
                ", ".join(decision["inputs"]),
            )
        if self.num_timesteps >= self.next_report:
            self.next_report += self.task.report_every
            self.report()
        if over_time(self.started, self.settings.search_max_seconds or self.task.max_trial_seconds):
            self.capped = True
            return False
        return True

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The nodes sequential or perturbation selection has decided so far, in order."""
        return self.selection.decisions if self.selection else []

    def report(self) -> dict[str, Any]:
        check_finite_weights(self.model.policy, self.num_timesteps)
        greedy = float(
            greedy_returns(self.model, self.eval_env, self.settings.search_eval_episodes, CURVE_BLOCK).mean()
        )
        recent = self.episode_returns[-100:]
        weights = operation_weights(self.encoder)
        point = {
            "default": greedy,
            "greedy_return": greedy,
            "training_return": float(np.mean(recent)) if recent else None,
            "arch_entropy": mean_entropy(weights),
            "genotype": self.space.architecture_name(discretise(weights)),
            "env_steps": int(self.num_timesteps),
            "wall_clock_s": round(time.monotonic() - self.started, 2),
            "operation_weights": weights,
        }
        self.curve.append(point)
        nni.report_intermediate_result(checked(SearchPoint, point))
        write_json(self.record, {"curve": self.curve, "decisions": self.decisions})
        logger.info(
            "DARTS search at %d env steps: greedy return %.2f, architecture entropy %.4f, genotype %s",
            point["env_steps"],
            greedy,
            point["arch_entropy"],
            point["genotype"],
        )
        return point


def genotype_settled_at(curve: list[dict[str, Any]]) -> int:
    """Env steps of the first report from which the genotype never changed again."""
    settled = curve[-1]
    for point in reversed(curve):
        if point["genotype"] != curve[-1]["genotype"]:
            break
        settled = point
    return settled["env_steps"]


@search_of(DartsOptions)
def run_darts_search(
    task: TaskSpec,
    space,
    build_space: Callable[[], torch.nn.Module],
    settings: DartsOptions,
    output_dir: Path,
    device: str,
) -> dict:
    """The DARTS search trial: returns its final result, the derived genotype first."""
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)  # the supernet's initial weights depend on the search seed
        agent = build_agent(
            dataclasses.replace(task, seed=settings.seed), SupernetFactory(build_space, settings.temperature), device
        )
    alternate_updates(agent, task.algorithm, settings)
    encoder = algorithm(task.algorithm).encoder(agent)
    record = output_dir / "darts_search.json"
    progress = SearchProgressCallback(task, space, encoder, task.make_env(), settings, record)
    started = time.monotonic()
    agent.learn(total_timesteps=settings.search_timesteps or task.budget, callback=progress)
    last = progress.curve[-1] if progress.curve else None
    final = last if last and last["env_steps"] == agent.num_timesteps else progress.report()
    architecture = discretise(final["operation_weights"])
    name = space.architecture_name(architecture)
    operations = len(next(iter(final["operation_weights"].values())))
    summary = {
        "default": SEARCH_TRIAL_SCORE,
        "supernet_return": final["default"],  # the supernet agent's greedy return at the end of the search
        "architecture": settings.search_name,
        "derived": name,
        "top_k": [name],
        "arch_entropy": final["arch_entropy"],
        "max_entropy": math.log(operations),
        "entropy_ratio": final["arch_entropy"] / math.log(operations),
        "genotype_settled_at": genotype_settled_at(progress.curve),
        "decisions": progress.decisions,
        "env_steps": int(agent.num_timesteps),
        "capped": progress.capped,
        "wall_clock_s": round(time.monotonic() - started, 2),
        "parameters": sum(p.numel() for p in encoder.parameters()),
    }
    write_json(
        record,
        {
            "architecture": architecture,
            "name": name,
            "temperature": settings.temperature,
            "arch_learning_rate": settings.arch_learning_rate,
            "selection": settings.selection,
            "auxiliary_skip": settings.auxiliary_skip,
            **{
                k: summary[k]
                for k in (
                    "arch_entropy",
                    "max_entropy",
                    "entropy_ratio",
                    "genotype_settled_at",
                    "decisions",
                    "env_steps",
                )
            },
            "operation_weights": final["operation_weights"],
            "curve": progress.curve,
        },
    )
    write_atomically(output_dir / "supernet.pt", lambda target: torch.save(encoder.state_dict(), target))
    logger.info("DARTS search derived %s", name)
    return summary
