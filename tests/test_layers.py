"""The package's layers import only downward (the contracts in pyproject.toml), checked by import-linter."""

import subprocess
import sys

from tests.conftest import REPO


def test_the_import_layering_contracts_hold():
    linter = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert linter.returncode == 0, linter.stdout + linter.stderr
    assert "Contracts: 5 kept, 0 broken." in linter.stdout
