"""The replication's direction, on real digits children: a baseline shrinks the controller's reward signal.

Runs ``benchmarks/controller_baselines.py`` small: pg_digits.yml's controller options (EMA
baseline, reward clipped to [-0.05, 0.05]), 3-epoch children, 16 per search, seeds 0 and 1.
"""

import importlib.util

import numpy as np

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("controller_baselines", REPO / "benchmarks" / "controller_baselines.py")
controller_baselines = importlib.util.module_from_spec(spec)
spec.loader.exec_module(controller_baselines)


def test_ema_and_critic_baselines_lower_the_reward_spread_against_no_baseline():
    class_args = controller_baselines.shipped_class_args()
    class_args["task"]["epochs"] = 3
    runs = controller_baselines.compare(class_args, seeds=[0, 1], trials=16)
    spread = {
        baseline: np.mean([run["reward_std"] for run in runs if run["baseline"] == baseline])
        for baseline in controller_baselines.BASELINES
    }
    assert spread["ema"] < 0.5 * spread["none"], spread
    assert spread["critic"] < 0.5 * spread["none"], spread
    assert all(run["trials"] == 16 and run["best_accuracy"] > 0.5 for run in runs), runs
