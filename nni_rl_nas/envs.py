"""Environments: MinAtar's pixel games registered with gymnasium, and image preprocessing.

MinAtar (``pip install minatar``) miniaturises five Atari games to 10x10 grids of object
channels. It runs offline (no ROMs, no downloads) and fast on a CPU, so pixel-based agents train
in minutes on two cores; the encoders that matter for Atari (convolutions that find and track
objects) matter there too. Its package registers no ids on import, so this module registers
``MinAtar/<Game>-v1`` (the minimal action set; ``-v0`` the full 6 actions) with a time limit,
since a good policy in Breakout can otherwise play one episode forever.

Every image observation (a ``(height, width, channels)`` Box of bytes or booleans) reaches the
agent channels first and as float32 in [0, 1], the layout the encoder spaces and PyTorch's
convolutions read. The standard Atari-style steps (grayscale, resize, frame stacking) are
gymnasium's own wrappers, chosen per task (:class:`Preprocessing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FrameStackObservation, GrayscaleObservation, ResizeObservation, TransformObservation

from .declarations import option
from .errors import check_bool, check_positive_int

MINATAR_GAMES = ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders")
MINATAR_MAX_EPISODE_STEPS = 10_000


def register_minatar() -> None:
    for game in MINATAR_GAMES:
        for version, minimal in (("v0", False), ("v1", True)):
            env_id = f"MinAtar/{game}-{version}"
            if env_id not in gym.registry:
                module_name = "space_invaders" if game == "SpaceInvaders" else game.lower()
                gym.register(
                    env_id,
                    entry_point="minatar.gym:BaseEnv",
                    max_episode_steps=MINATAR_MAX_EPISODE_STEPS,
                    kwargs={"game": module_name, "use_minimal_action_set": minimal},
                )


register_minatar()


@dataclass(frozen=True)
class Preprocessing:
    """Image preprocessing of a task (``task.preprocess``), applied in this order."""

    grayscale: bool = option(False, "RGB -> one luminance channel")
    resize: int | None = option(None, "square side in pixels, e.g. 84; null: as the env renders")
    frame_stack: int = option(1, "the last N frames as channels, so that a feed-forward encoder sees motion")

    def check(self, where: str = "task.preprocess") -> None:
        """Refuse bad values, naming the field and the fix."""
        check_bool(self.grayscale, f"{where}.grayscale")
        check_positive_int(self.resize, f"{where}.resize", none_means="no resizing")
        check_positive_int(self.frame_stack, f"{where}.frame_stack")


def is_image(space: gym.Space) -> bool:
    """Height x width x channels, in bytes or booleans: what pixel envs emit."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.dtype in (np.uint8, np.bool_)


def preprocess(env: gym.Env, steps: Preprocessing) -> gym.Env:
    """``env`` with ``steps`` applied, its image observations channels first in [0, 1]."""
    if not is_image(env.observation_space):
        return env
    if env.observation_space.dtype == np.bool_:  # MinAtar's object channels, as the bytes the wrappers read
        env = TransformObservation(
            env,
            lambda observation: observation.astype(np.uint8) * 255,
            gym.spaces.Box(0, 255, shape=env.observation_space.shape, dtype=np.uint8),
        )
    if steps.grayscale:
        env = GrayscaleObservation(env, keep_dim=True)
    if steps.resize:
        env = ResizeObservation(env, (steps.resize, steps.resize))
    if steps.frame_stack > 1:
        env = FrameStackObservation(env, steps.frame_stack)
    shape = env.observation_space.shape or ()  # (frames,) height, width, channels
    height, width, channels = shape[-3:]
    frames = shape[0] if len(shape) == 4 else 1
    space = gym.spaces.Box(0.0, 1.0, shape=(frames * channels, height, width), dtype=np.float32)

    def channels_first(observation: np.ndarray) -> np.ndarray:
        image = np.moveaxis(np.asarray(observation, dtype=np.float32) / 255.0, -1, -3)  # (frames,) C, H, W
        return image.reshape(space.shape)

    return TransformObservation(env, channels_first, space)


def registry_id(env_id: str) -> str:
    """The id gymnasium's registry knows: ``EnvId`` of ``module:EnvId``."""
    return env_id.rpartition(":")[2]
