"""CartPole that injects one fault into one trial: how the end-to-end tests break trials on purpose.

``FaultyCartPole-v0`` behaves as CartPole-v1 until, in a trial process, an env is reset while
``$FAULTS_DIR`` holds a fault file. The env claims one file by renaming it (atomic, so each fault
hits exactly one trial) and then:

- ``raise``: raises, as a crashing simulator would;
- ``nan``: returns NaN observations, so the Q-network's loss and weights turn NaN;
- ``kill``: SIGKILLs its own process, as the kernel's out-of-memory killer would;
- ``hang``: sleeps, so the trial overruns NNI's ``maxTrialDuration``;
- ``lame``: pays no reward, so the learning curve stays at 0: a hopeless trial for an assessor.

A fault file that holds a number N is only for trials whose NNI sequence id is N or more.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control import CartPoleEnv

FAULTS = ("raise", "nan", "kill", "hang", "lame")


@functools.cache
def claim_fault() -> str | None:
    """Take one fault file from $FAULTS_DIR, if this is a trial and any is left (once a process)."""
    directory = os.environ.get("FAULTS_DIR")
    if not directory or "NNI_TRIAL_JOB_ID" not in os.environ:
        return None
    sequence = int(os.environ.get("NNI_TRIAL_SEQ_ID", "-1"))
    for fault in FAULTS:
        path = Path(directory) / fault
        try:
            if sequence < int(path.read_text().strip() or 0):
                continue
            os.rename(path, Path(directory) / f"{fault}.{os.environ['NNI_TRIAL_JOB_ID']}")
        except FileNotFoundError:
            continue
        return fault
    return None


class FaultyCartPole(CartPoleEnv):
    fault: str | None = None

    def reset(self, *, seed=None, options=None):
        self.fault = claim_fault()
        if self.fault == "raise":
            raise RuntimeError("injected fault: the simulator crashed")
        if self.fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.fault == "hang":
            time.sleep(3600)
        observation, info = super().reset(seed=seed, options=options)
        return self._inject(observation), info

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        return self._inject(observation), 0.0 if self.fault == "lame" else reward, terminated, truncated, info

    def _inject(self, observation: np.ndarray) -> np.ndarray:
        return np.full_like(observation, np.nan) if self.fault == "nan" else observation


gym.register("FaultyCartPole-v0", entry_point=FaultyCartPole, max_episode_steps=500, reward_threshold=475.0)
