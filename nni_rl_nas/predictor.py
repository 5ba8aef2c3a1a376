"""A learned predictor of an architecture's score, with its uncertainty: the surrogate that ranks
a progressive search's expansions before any of them trains (Liu et al., 2018, used an LSTM or an
MLP ensemble; this is the ensemble).

An architecture is encoded as features that carry across depths, since the predictor must rank
architectures one layer deeper than any it has seen scored:

- per decision, a one-hot of its value (zeros for a layer past the architecture's depth);
- per kind of decision (``layer1_width``, ``layer2_width`` ... are one kind), how often each value
  occurs over the layers in use, as a fraction of them, which a shallower architecture informs;
- the depth in use, as a fraction of the deepest.

Each member is a one-hidden-layer MLP fitted, full batch with Adam, to a bootstrap resample of
the standardised scores; the prediction is the members' mean, its uncertainty their spread.
Everything is seeded, so the same scores give the same ranking on a resumed search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch

from .options import PredictorSettings

Architecture = dict


def decision_kind(label: str) -> str:
    """``layer3_width`` -> ``layer#_width``: the same decision at every layer."""
    return re.sub(r"\d+", "#", label)


class ArchitectureEncoder:
    """Architectures of a space as fixed-length feature vectors (see the module's docstring)."""

    def __init__(self, choices: dict[str, list], layer_labels: Sequence[Sequence[str]]) -> None:
        self.choices = choices
        self.layer_labels = [list(labels) for labels in layer_labels]  # per layer, from the first
        self.kinds: dict[str, list] = {}
        for labels in self.layer_labels:
            for label in labels:
                self.kinds.setdefault(decision_kind(label), list(choices[label]))
        self.size = sum(map(len, choices.values())) + sum(map(len, self.kinds.values())) + 1

    def encode(self, architecture: Architecture, depth: int) -> np.ndarray:
        used = {label for labels in self.layer_labels[:depth] for label in labels}
        unused = {label for labels in self.layer_labels[depth:] for label in labels}
        features = []
        for label, values in self.choices.items():
            one_hot = np.zeros(len(values))
            if label not in unused:
                one_hot[values.index(architecture[label])] = 1.0
            features.append(one_hot)
        for kind, values in self.kinds.items():
            counts = np.zeros(len(values))
            for label in used:
                if decision_kind(label) == kind:
                    counts[values.index(architecture[label])] += 1.0
            features.append(counts / max(depth, 1))
        features.append(np.array([depth / len(self.layer_labels)]))
        return np.concatenate(features).astype(np.float32)


class EnsemblePredictor:
    """Fits to (features, score) pairs; predicts each candidate's mean score and the spread.

    The members are trained together, as one batch of matrix products, each on its own resample
    with its own weights: Adam's update is per weight, so this is each member trained alone, at
    the cost of one."""

    def __init__(self, inputs: int, settings: PredictorSettings, seed: int) -> None:
        self.settings = settings
        self.generator = torch.Generator().manual_seed(seed)
        self.inputs = inputs
        self.weights: dict[str, torch.Tensor] = {}  # every member's layers, stacked on the first axis
        self.mean, self.scale = 0.0, 1.0

    def _initial_weights(self) -> dict[str, torch.Tensor]:
        members, hidden = self.settings.members, self.settings.hidden_size
        shapes = {
            "w1": (members, self.inputs, hidden),
            "b1": (members, 1, hidden),
            "w2": (members, hidden, 1),
            "b2": (members, 1, 1),
        }
        # seeded, so a refit of the same scores gives the same members
        return {
            name: (torch.randn(shape, generator=self.generator) * 0.1).requires_grad_()
            for name, shape in shapes.items()
        }

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """(members, rows, inputs) -> (members, rows) standardised predictions."""
        hidden = torch.relu(torch.baddbmm(self.weights["b1"], x, self.weights["w1"]))
        return torch.baddbmm(self.weights["b2"], hidden, self.weights["w2"]).squeeze(-1)

    def fit(self, features: np.ndarray, scores: np.ndarray) -> None:
        x, y = torch.as_tensor(features), torch.as_tensor(scores, dtype=torch.float32)
        self.mean, self.scale = float(y.mean()), float(y.std()) if len(y) > 1 and float(y.std()) > 0 else 1.0
        y = (y - self.mean) / self.scale
        rows = torch.randint(len(x), (self.settings.members, len(x)), generator=self.generator)  # the resamples
        self.weights = self._initial_weights()
        optimizer = torch.optim.Adam(self.weights.values(), lr=self.settings.learning_rate)
        for _ in range(self.settings.epochs):
            optimizer.zero_grad()
            # summed over members, so each member's gradient is its own mean squared error's
            loss = ((self._forward(x[rows]) - y[rows]) ** 2).mean(1).sum()
            loss.backward()
            optimizer.step()

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, spread) of the members' predictions, in score units."""
        with torch.no_grad():
            x = torch.as_tensor(features).expand(self.settings.members, *features.shape)
            predictions = self._forward(x) * self.scale + self.mean
        return predictions.mean(0).numpy(), predictions.std(0).numpy()

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.get_state(),
            "mean": self.mean,
            "scale": self.scale,
            "weights": {name: weight.detach() for name, weight in self.weights.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.mean, self.scale = state["mean"], state["scale"]
        self.weights = {name: weight.clone() for name, weight in state["weights"].items()}
