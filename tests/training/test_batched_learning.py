"""The batched trainer learns as Stable-Baselines3 does: CartPole over five seeds (slow: ~10 minutes)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_batched_trainer_learns_cartpole_like_sb3_over_five_seeds(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "batched_trainer.py"),
            "learning",
            "--envs",
            "CartPole-v1",
            "--seeds",
            "5",
            "--out",
            str(tmp_path),
        ],
        check=True,
        cwd=REPO,
    )
    recorded = json.loads((tmp_path / "learning.json").read_text())
    results = recorded["results"]["CartPole-v1"]
    for engine in ("sb3", "batched"):
        assert np.mean(results[engine]["seed_scores"]) >= 150, f"{engine} did not learn (untrained scores ~10)"
    assert recorded["verdicts"]["CartPole-v1"] == {"final_score": True, "curve_average": True}, results
