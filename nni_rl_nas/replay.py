"""``nni-rl-nas play``: load a trial's trained agent and play episodes, optionally filming them.

A trial leaves ``model.pt`` (tensors only) and ``trial.json`` (its space, task, architecture and
result). A trial folder is untrusted input (it may have been downloaded): the agent is rebuilt
from the model space, the weights are loaded with ``torch.load(weights_only=True)`` and a file
that is not plain tensors is refused, never unpickled; and a module that ``trial.json`` names
(an env id ``module:EnvId``) is imported only when the user names it on the command line.
Given an experiment (its id or folder) rather than one trial, the best-scoring trial is played.
Videos are MP4s written by the ffmpeg that the ``imageio-ffmpeg`` wheel ships.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from .algorithms import NetworkFactory, build_agent
from .errors import ConfigError
from .experiment import parse_class_args
from .files import write_atomically
from .records import resolve_folder
from .resources import check_memory
from .specs import TaskSpec
from .trial import TRIAL_RECORD, WEIGHTS, check_architecture


def trial_folders(target: str | Path, root: Path | None = None) -> list[Path]:
    """The trial folders that ``target`` names: one trial's folder, an experiment's folder, or an experiment id."""
    path = resolve_folder(target, root)
    if (path / TRIAL_RECORD).exists():
        return [path]
    folders = sorted(record.parent for record in path.glob(f"environments/*/trials/*/{TRIAL_RECORD}"))
    if not folders:
        raise ConfigError(
            f"play: {str(target)!r} is neither a trial folder with {TRIAL_RECORD} nor an experiment "
            f"with finished trials (looked in {path}); fix: pass a trial folder, an experiment folder, "
            "or an experiment id with --experiments-dir"
        )
    return folders


def read_record(folder: Path) -> dict:
    """A trial folder's ``trial.json``, or a one-line refusal naming the file."""
    path = folder / TRIAL_RECORD
    try:
        record = json.loads(path.read_text())
        if not all(isinstance(record.get(key), dict) for key in ("result", "task", "space", "architecture")):
            raise ValueError("it lacks a result, task, space or architecture mapping")
    except (OSError, ValueError, AttributeError) as error:
        raise ConfigError(
            f"play: {path} is not a trial record written by nni-rl-nas ({error!r}); "
            "fix: pass the folder of a finished trial"
        ) from None
    return record


def best_trial(folders: list[Path]) -> Path:
    """The trial with the highest score; search trials (no single architecture) are skipped."""
    scored = [(read_record(folder)["result"]["default"], folder) for folder in folders if (folder / WEIGHTS).exists()]
    if not scored:
        raise ConfigError(f"play: none of {len(folders)} trials saved a model; fix: wait for a trial to finish")
    return max(scored, key=lambda pair: pair[0])[1]


@dataclass
class LoadedAgent:
    agent: BaseAlgorithm
    task: TaskSpec
    name: str
    folder: Path


def load_agent(folder: Path, env_modules: Collection[str] = ()) -> LoadedAgent:
    """Rebuild a trial's agent from its record and load its weights without unpickling code;
    ``env_modules``: the modules the user trusts to register the trial's env."""
    record, path = read_record(folder), folder / TRIAL_RECORD
    try:
        task = {key: value for key, value in record["task"].items() if key != "defaults"}
        module = str(task["env"]).rpartition(":")[0]
        # the hyperparameters it trained with, whatever the shipped defaults say now (n_quantiles shapes the network)
        trained_with = (record["task"].get("defaults") or {}).get("hyperparameters", {})
        task["hyperparameters"] = {**trained_with, **task.get("hyperparameters", {})}
        class_args = {"space": {"family": record["space"]["family"], **record["space"]["options"]}, "task": task}
    except (KeyError, TypeError, AttributeError) as error:
        raise ConfigError(
            f"play: {path} is not a trial record written by nni-rl-nas (its task or space lacks "
            f"{error!r}); fix: pass the folder of a finished trial"
        ) from None
    if module and module not in env_modules:
        raise ConfigError(
            f"play: {path} names env {task['env']!r}, which needs module {module!r} "
            "imported; a result is untrusted input, so play imports no module it names; "
            f"fix: --env-module {module}, if you trust that module"
        )
    try:
        spec = parse_class_args(class_args)
        check_memory(spec, trials_at_once=1)  # a record may ask for a network no machine holds
        if not isinstance(spec.task, TaskSpec):
            raise ConfigError("it trained an image classifier; fix: play an RL trial")
        architecture = check_architecture(spec.meta_space, record["architecture"])
    except (ConfigError, ValueError) as error:
        raise ConfigError(f"play: {path}: {error}") from None
    space = spec.build_space()
    agent = build_agent(spec.task, NetworkFactory(space, architecture), "cpu")
    try:
        weights = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
        agent.policy.load_state_dict(weights)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError) as error:
        reason = str(error).strip().splitlines()[0][:200]  # torch's own advice (weights_only=False) left out
        raise ConfigError(
            f"play: {folder / WEIGHTS} is not the plain tensors of the architecture in "
            f"{TRIAL_RECORD} ({type(error).__name__}: {reason}); a result is untrusted input and is "
            "never unpickled; fix: the model.pt that an nni-rl-nas trial wrote beside it"
        ) from None
    return LoadedAgent(agent, spec.task, space.architecture_name(architecture), folder)


def play(loaded: LoadedAgent, episodes: int, seed: int = 0, video: Path | None = None) -> list[float]:
    """Greedy episodes from seeds ``seed``, ``seed + 1`` ...; their returns, and an MP4 of them if asked."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # Box2D/classic-control render off-screen; no display needed
    env = loaded.task.make_env(render_mode="rgb_array" if video else None)
    returns: list[float] = []
    frames: list[np.ndarray] = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            if video:
                frames.append(np.asarray(env.render()))
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
                writer.append_data(frame)  # type: ignore[attr-defined]  # typed as v3's base; v2's writer has it

    write_atomically(path, write)
