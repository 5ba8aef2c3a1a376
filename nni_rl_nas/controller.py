"""An autoregressive architecture controller and its REINFORCE update, shared by controller strategies.

The controller emits one decision per choice of the model space, in the space's order. An LSTM
cell reads the previous decision (a start token first), and one softmax head per decision picks
among that decision's values. It is trained with REINFORCE: the advantage is score - baseline,
the advantage optionally clipped, an entropy bonus keeps it exploring, and an optional L2 term
regularises the controller's weights. Baselines:

- ``ema``: an exponential moving average of past scores;
- ``none``: the score itself is the reward;
- ``critic`` (actor-critic): a learned value head on the LSTM state before each decision
  predicts the score, trained by squared error; each decision's advantage is the score minus
  the value of the state it was taken in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from .options import ControllerSettings


def architecture_of(choices: dict[str, list], decisions: Sequence[int]) -> dict:
    """The architecture that the controller's decisions (one value index per choice) stand for."""
    return {label: values[index] for (label, values), index in zip(choices.items(), decisions, strict=True)}


def decisions_of(choices: dict[str, list], architecture: dict) -> list[int]:
    return [values.index(architecture[label]) for label, values in choices.items()]


class ArchitectureController(nn.Module):
    def __init__(self, choice_sizes: Sequence[int], hidden_size: int = 100, critic: bool = False) -> None:
        super().__init__()
        self.choice_sizes = list(choice_sizes)
        self.hidden_size = hidden_size
        # one embedding row per (decision, value) plus a start token, so inputs say which decision they follow
        self.offsets = [0, *torch.tensor(self.choice_sizes).cumsum(0).tolist()]
        self.embedding = nn.Embedding(self.offsets[-1] + 1, hidden_size)
        self.cell = nn.LSTMCell(hidden_size, hidden_size)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, size) for size in self.choice_sizes)
        self.value_head = nn.Linear(hidden_size, 1) if critic else None

    def _logits(self, decisions: torch.Tensor | None, generator: torch.Generator | None):
        """Walk the decisions; sample them when ``decisions`` is None. Yields (logits, decision, hidden)."""
        state = None
        token = torch.tensor([self.offsets[-1]])  # start token
        for index, head in enumerate(self.heads):
            hidden, cell = self.cell(self.embedding(token), state)
            state = (hidden, cell)
            logits = head(hidden)[0]
            if decisions is None:
                decision = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[0]
            else:
                decision = decisions[index]
            yield logits, decision, hidden
            token = (decision + self.offsets[index]).reshape(1)

    def sample(self, generator: torch.Generator | None = None) -> list[int]:
        with torch.no_grad():
            return [int(decision) for _, decision, _ in self._logits(None, generator)]

    def evaluate_steps(self, decisions: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Per decision, with gradients: its log-probability, the entropy of its softmax, and (with a
        critic) the predicted score of the state it was taken in."""
        log_probs, entropies, values = [], [], []
        for logits, decision, hidden in self._logits(torch.tensor(decisions), None):
            distribution = torch.distributions.Categorical(logits=logits)
            log_probs.append(distribution.log_prob(decision))
            entropies.append(distribution.entropy())
            if self.value_head is not None:
                values.append(self.value_head(hidden)[0, 0])
        return torch.stack(log_probs), torch.stack(entropies), torch.stack(values) if values else None

    def evaluate(self, decisions: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability and entropy (summed over decisions) of one architecture, with gradients."""
        log_probs, entropies, _ = self.evaluate_steps(decisions)
        return log_probs.sum(), entropies.sum()

    def probabilities(self, decisions: Sequence[int]) -> float:
        with torch.no_grad():
            return float(self.evaluate(decisions)[0].exp())


MAX_ENUMERATED = 10_000  # spaces up to this size are ranked exactly; larger ones from 1000 samples
TOP_SHOWN = 5  # architectures whose probabilities a controller strategy records at each update


def most_likely(
    controller: ArchitectureController, choices: dict[str, list], k: int, generator: torch.Generator
) -> list[tuple[dict, float]]:
    """The k architectures the controller finds most likely, with their probabilities, best first."""
    sizes = [len(values) for values in choices.values()]
    if math.prod(sizes) <= MAX_ENUMERATED:
        candidates = {tuple(decisions) for decisions in itertools.product(*(range(size) for size in sizes))}
    else:
        candidates = {tuple(controller.sample(generator)) for _ in range(1000)}
    ranked = sorted(((controller.probabilities(decisions), decisions) for decisions in candidates), reverse=True)
    return [(architecture_of(choices, decisions), probability) for probability, decisions in ranked[:k]]


def build_controller(choice_sizes: Sequence[int], settings: ControllerSettings) -> ArchitectureController:
    return ArchitectureController(choice_sizes, settings.hidden_size, critic=settings.baseline == "critic")


class Reinforce:
    """REINFORCE on an :class:`ArchitectureController`, updated every ``samples_per_update`` scores.

    Scores may arrive in any order; each is taken against the baseline as it stands when it
    arrives, then moves the baseline. Every sample of a batch contributes to the gradient.
    ``advantages`` keeps the reward signal of every sample (for a critic: the mean over its
    decisions), whose spread is what a baseline is meant to shrink.
    """

    def __init__(self, controller: ArchitectureController, settings: ControllerSettings) -> None:
        self.controller = controller
        self.settings = settings
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=settings.learning_rate)
        self.baseline: float | None = None
        self.batch: list[tuple[list[int], float]] = []  # (decisions, score)
        self.advantages: list[float] = []

    def critic_advantages(self, score: float, values: torch.Tensor | None) -> torch.Tensor:
        """score - value of the state before each decision, clipped; no gradient into the critic."""
        if values is None:
            raise ValueError("the critic baseline needs the controller's value head (baseline: critic builds it)")
        clip = self.settings.advantage_clip
        advantages = score - values.detach()
        return advantages if clip is None else advantages.clamp(-clip, clip)

    def advantage(self, decisions: list[int], score: float) -> float:
        """The reward signal of one new score; moves the EMA baseline."""
        if self.settings.baseline == "none":
            return score
        if self.settings.baseline == "critic":
            with torch.no_grad():
                return float(self.critic_advantages(score, self.controller.evaluate_steps(decisions)[2]).mean())
        if self.baseline is None:
            self.baseline = score
        advantage = score - self.baseline
        self.baseline = self.settings.baseline_decay * self.baseline + (1 - self.settings.baseline_decay) * score
        clip = self.settings.advantage_clip
        return advantage if clip is None else max(-clip, min(clip, advantage))

    def observe(self, decisions: list[int], score: float) -> bool:
        """Record one score; returns True when it completed a batch and the controller was updated."""
        advantage = self.advantage(decisions, score)
        self.advantages.append(advantage)
        self.batch.append((decisions, advantage if self.settings.baseline != "critic" else score))
        if len(self.batch) < self.settings.samples_per_update:
            return False
        self.update(self.batch)
        self.batch = []
        return True

    def surrogate_loss(self, batch: list[tuple[list[int], float]]) -> torch.Tensor:
        """Policy-gradient loss (+ the critic's squared error) - entropy bonus + L2 regularisation."""
        losses = []
        for decisions, signal in batch:  # signal: the advantage, or the score itself for a critic
            log_probs, entropies, values = self.controller.evaluate_steps(decisions)
            if values is None:
                loss = -signal * log_probs.sum()
            else:
                loss = (
                    -(self.critic_advantages(signal, values) * log_probs).sum()
                    + self.settings.critic_weight * ((signal - values) ** 2).sum()
                )
            losses.append(loss - self.settings.entropy_weight * entropies.sum())
        loss = torch.stack(losses).mean()
        if self.settings.l2_weight:
            loss = loss + self.settings.l2_weight * sum((p**2).sum() for p in self.controller.parameters())
        return loss

    def update(self, batch: list[tuple[list[int], float]]) -> None:
        self.optimizer.zero_grad()
        self.surrogate_loss(batch).backward()
        self.optimizer.step()

    def state_dict(self) -> dict:
        """The controller, its optimizer, the baseline and the unfinished batch: tensors and plain data."""
        return {
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "batch": self.batch,
            "advantages": self.advantages,
        }

    def load_state_dict(self, state: dict) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.batch = [(list(decisions), signal) for decisions, signal in state["batch"]]
        self.advantages = list(state["advantages"])
