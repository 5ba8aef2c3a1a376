"""TensorBoard logs where NNI's web UI looks for them: ``<trial output folder>/tensorboard``.

The web UI's TensorBoard button starts ``tensorboard`` over the ``tensorboard`` folder of each
trial it is given (NNI's ``nniTensorboardManager``), so a trial writes there, one run per seed
(``seed_<n>``). With the ``sb3`` engine the run is Stable-Baselines3's own logger in its
``tensorboard`` format, so SB3's values (``rollout/ep_rew_mean``, ``train/loss``,
``rollout/exploration_rate`` ...) are there; with either engine the learning curve's report
points are added as ``curve/...`` at their env steps. ``tensorboard`` is an optional dependency
(``pip install -e '.[tensorboard]'``); without it a trial writes no logs and says so once.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from stable_baselines3.common.logger import Logger, configure

TENSORBOARD_FOLDER = "tensorboard"  # the subfolder of a trial's output folder that NNI's web UI reads

logger = logging.getLogger(__name__)


def tensorboard_folder(output_dir: Path) -> Path | None:
    """Where a trial whose output folder is ``output_dir`` writes its logs; None without tensorboard."""
    if importlib.util.find_spec("tensorboard") is None:
        logger.info("tensorboard is not installed: no TensorBoard logs (pip install -e '.[tensorboard]')")
        return None
    return output_dir / TENSORBOARD_FOLDER


def seed_logger(log_dir: Path | None, seed: int) -> Logger:
    """The logger of one seed's agent: TensorBoard under ``log_dir/seed_<seed>``, or, without a
    ``log_dir``, values kept in memory only (SB3's default would make a /tmp/SB3-<time> folder)."""
    if log_dir is None:
        return Logger(folder=None, output_formats=[])
    return configure(str(log_dir / f"seed_{seed}"), ["tensorboard"])


def log_point(run_logger: Logger, point: dict) -> None:
    """One report point of a learning curve, at its env steps."""
    for key in ("default", "greedy_return", "training_return"):
        if point.get(key) is not None:
            run_logger.record(f"curve/{key}", point[key])
    run_logger.record("curve/solved", int(bool(point["solved"])))
    run_logger.dump(step=point["env_steps"])
