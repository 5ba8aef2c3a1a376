"""The supervised child: train an image classifier from the model space, report validation accuracy.

The same strategies that search RL agents search classifiers this way (the Zoph & Le setting):
the trial trains the frozen architecture with Adam and cross-entropy for ``task.epochs`` epochs,
reports the validation accuracy after each epoch as an intermediate result, and the last
epoch's validation accuracy as its score.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import nni
import torch
from torch import nn

from ..messages import EpochPoint, checked
from .datasets import load_images, split

logger = logging.getLogger(__name__)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1024) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum())
            for i in range(0, len(labels), batch_size)
        )
    model.train()
    return correct / len(labels)


def train_classifier(task, build_model: Callable[[], nn.Module], device: str) -> tuple[dict, list[dict], dict]:
    """Build the classifier (its initial weights fixed by ``task.seed``) and train it on the task's
    dataset; returns the final result fields, the per-epoch curve and the trained weights."""
    torch.manual_seed(task.seed)
    model = build_model().to(device)
    (train_x, train_y), (val_x, val_y) = split(*load_images(task), task.validation_fraction, task.seed)
    train_x, train_y, val_x, val_y = (t.to(device) for t in (train_x, train_y, val_x, val_y))
    optimizer = torch.optim.Adam(model.parameters(), lr=task.learning_rate)
    generator = torch.Generator().manual_seed(task.seed)
    started, curve = time.monotonic(), []
    for epoch in range(1, task.epochs + 1):
        order = torch.randperm(len(train_y), generator=generator).to(device)
        total_loss = 0.0
        for start in range(0, len(order), task.batch_size):
            batch = order[start : start + task.batch_size]
            loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(batch)
        if not math.isfinite(total_loss):
            raise FloatingPointError(
                f"training loss became {total_loss} in epoch {epoch}; fix: lower task.learning_rate"
            )
        point = {
            "default": accuracy(model, val_x, val_y),
            "epoch": epoch,
            "train_loss": total_loss / len(order),
            "wall_clock_s": round(time.monotonic() - started, 2),
        }
        curve.append(point)
        nni.report_intermediate_result(checked(EpochPoint, point))
        logger.info(
            "epoch %d: validation accuracy %.4f, training loss %.4f", epoch, point["default"], point["train_loss"]
        )
    result = {
        "default": curve[-1]["default"],
        "val_accuracy": curve[-1]["default"],
        "best_val_accuracy": max(point["default"] for point in curve),
        "epochs": task.epochs,
        "train_images": len(train_y),
        "val_images": len(val_y),
        "wall_clock_s": round(time.monotonic() - started, 2),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return result, curve, model.state_dict()
