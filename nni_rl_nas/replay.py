"""``nni-rl-nas play``: load a trial's trained agent and play episodes, optionally filming them.

A trial leaves ``model.pt`` (tensors only) and ``trial.json`` (its space, task, architecture and
result). The agent is rebuilt from the model space and the weights are loaded with
``torch.load(weights_only=True)``, so playing a downloaded result never executes pickled code.
Given an experiment (its id or folder) rather than one trial, the best-scoring trial is played.
Videos are MP4s written by the ffmpeg that the ``imageio-ffmpeg`` wheel ships.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .algorithms import NetworkFactory, build_agent
from .errors import ConfigError
from .experiment import parse_class_args
from .files import write_atomically
from .records import resolve_folder
from .specs import TaskSpec
from .trial import TRIAL_RECORD, WEIGHTS


def trial_folders(target: str | Path, root: Path | None = None) -> list[Path]:
    """The trial folders that ``target`` names: one trial's folder, an experiment's folder, or an experiment id."""
    path = resolve_folder(target, root)
    if (path / TRIAL_RECORD).exists():
        return [path]
    folders = sorted(record.parent for record in path.glob(f"environments/*/trials/*/{TRIAL_RECORD}"))
    if not folders:
        raise ConfigError(f"play: {str(target)!r} is neither a trial folder with {TRIAL_RECORD} nor an experiment "
                          f"with finished trials (looked in {path}); fix: pass a trial folder, an experiment folder, "
                          "or an experiment id with --experiments-dir")
    return folders


def best_trial(folders: list[Path]) -> Path:
    """The trial with the highest score; search trials (no single architecture) are skipped."""
    scored = [(json.loads((folder / TRIAL_RECORD).read_text())["result"]["default"], folder)
              for folder in folders if (folder / WEIGHTS).exists()]
    if not scored:
        raise ConfigError(f"play: none of {len(folders)} trials saved a model; fix: wait for a trial to finish")
    return max(scored, key=lambda pair: pair[0])[1]


@dataclass
class LoadedAgent:
    agent: object
    task: TaskSpec
    name: str
    folder: Path


def load_agent(folder: Path) -> LoadedAgent:
    """Rebuild a trial's agent from its record and load its weights without unpickling code."""
    record = json.loads((folder / TRIAL_RECORD).read_text())
    space_record = record["space"]
    task = {key: value for key, value in record["task"].items() if key != "defaults"}
    # the hyperparameters it trained with, whatever the shipped defaults say now (n_quantiles shapes the network)
    task["hyperparameters"] = {**record["task"].get("defaults", {}).get("hyperparameters", {}), **task["hyperparameters"]}
    spec = parse_class_args({"space": {"family": space_record["family"], **space_record["options"]}, "task": task})
    if not isinstance(spec.task, TaskSpec):
        raise ConfigError(f"play: trial {folder} trained an image classifier; fix: play an RL trial")
    space = spec.build_space()
    agent = build_agent(spec.task, NetworkFactory(space, record["architecture"]), "cpu")
    agent.policy.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
    return LoadedAgent(agent, spec.task, space.architecture_name(record["architecture"]), folder)


def play(loaded: LoadedAgent, episodes: int, seed: int = 0, video: Path | None = None) -> list[float]:
    """Greedy episodes from seeds ``seed``, ``seed + 1`` ...; their returns, and an MP4 of them if asked."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # Box2D/classic-control render off-screen; no display needed
    env = loaded.task.make_env(render_mode="rgb_array" if video else None)
    returns, frames = [], []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            if video:
                frames.append(env.render())
            action, _ = loaded.agent.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    if video:
        write_video(video, frames, env.metadata.get("render_fps", 30))
    env.close()
    return returns


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import imageio.v2 as imageio

    def write(target: Path) -> None:
        with imageio.get_writer(target, format="FFMPEG", mode="I", fps=fps, macro_block_size=1) as writer:
            for frame in frames:
                writer.append_data(frame)

    write_atomically(path, write)
