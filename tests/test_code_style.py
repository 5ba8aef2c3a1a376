"""The code reads in one style: ruff's lint rules and its formatter (configured in pyproject.toml) pass on
the package, its tests and its benchmarks, and mypy (configured there too) finds the package's types
consistent."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_passes(command):
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_mypy_passes():
    mypy = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
