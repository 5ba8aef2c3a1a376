"""A trial's agents saved for a later trial to continue: the generations of NNI's PBT, and the
rounds of a configuration that Hyperband or BOHB promotes (:mod:`nni_rl_nas.advisor`).

Per seed, in ``<folder>/seed_<seed>/``, tensors, arrays and JSON only, so that loading one
executes no pickled code (as for ``model.pt``):

- ``agent.pt``: the parameters of the policy and of its optimizer (SB3's ``get_parameters``),
  loaded with SB3's ``set_parameters``;
- ``replay_buffer.npz``: an off-policy agent's replay buffer;
- ``progress.json``: the env steps so far, the learning curve's points, the training episodes'
  returns, and where the replay buffer writes next.

A continued agent trains on from its env steps: its learning curve keeps the earlier points (so
NNI plots the whole lineage), and the learning-rate and exploration schedules span everything it
has trained. A checkpoint folder is written whole or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..files import write_atomically, write_json

AGENT, BUFFER, PROGRESS = "agent.pt", "replay_buffer.npz", "progress.json"
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def seed_folder(folder: Path, seed: int) -> Path:
    return folder / f"seed_{seed}"


def saved_env_steps(folder: Path, seed: int) -> int | None:
    """The env steps of the agent of ``seed`` saved in ``folder``; None when there is none."""
    progress = seed_folder(folder, seed) / PROGRESS
    return json.loads(progress.read_text())["env_steps"] if progress.exists() else None


def save_runs(runs: list, folder: Path) -> None:
    """Save every seed's agent (``runs``: :class:`~nni_rl_nas.training.seeds.SeedRun`) into ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for run in runs:
            _save_run(run, seed_folder(partial, run.task.seed))
        if folder.exists():  # a trial run again after a resume replaces what its first run left
            shutil.rmtree(folder)
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _save_run(run, folder: Path) -> None:
    agent, buffer = run.agent, getattr(run.agent, "replay_buffer", None)
    write_atomically(folder / AGENT, lambda target: torch.save(agent.get_parameters(), target))
    progress = {
        "env_steps": int(agent.num_timesteps),
        "points": run.curve.points,
        "episode_returns": run.curve.episode_returns,
    }
    if buffer is not None:
        arrays = {name: getattr(buffer, name) for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None}
        write_atomically(folder / BUFFER, lambda target: np.savez(target, **arrays))
        progress["buffer"] = {"pos": int(buffer.pos), "full": bool(buffer.full)}
    write_json(folder / PROGRESS, progress)


def restore_run(run, folder: Path) -> None:
    """Continue ``run`` (a freshly built :class:`~nni_rl_nas.training.seeds.SeedRun` of the same
    architecture) from the agent of its seed saved in ``folder``."""
    folder = seed_folder(folder, run.task.seed)
    progress = json.loads((folder / PROGRESS).read_text())
    agent = run.agent
    agent.set_parameters(torch.load(folder / AGENT, map_location=agent.device, weights_only=True), exact_match=True)
    buffer = getattr(agent, "replay_buffer", None)
    if buffer is not None and (folder / BUFFER).exists():
        with np.load(folder / BUFFER, allow_pickle=False) as arrays:
            for name in arrays.files:
                target = getattr(buffer, name)
                if target.shape != arrays[name].shape:
                    raise ValueError(
                        f"the saved replay buffer's {name} has shape {arrays[name].shape}, this agent's "
                        f"{target.shape}: its buffer_size or observations differ from the saved agent's"
                    )
                target[...] = arrays[name]
        buffer.pos, buffer.full = progress["buffer"]["pos"], progress["buffer"]["full"]
    agent.num_timesteps = progress["env_steps"]
    run.curve.points = progress["points"]
    run.curve.episode_returns = progress["episode_returns"]
    run.curve.next_report = progress["env_steps"] + run.task.report_every
