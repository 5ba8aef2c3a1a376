"""The docs site builds with every warning an error: no broken link, anchor or page left out of it;
and its config reference, generated from the declarations, holds every option declared."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nni_rl_nas.messages import MESSAGES, declared_keys
from nni_rl_nas.reference import every_declared_option

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return site


def test_the_docs_build_with_warnings_as_errors(site):
    assert (site / "guides" / "seeds" / "index.html").exists()


def test_the_generated_config_reference_holds_every_declared_option(site):
    page = (site / "reference" / "config" / "index.html").read_text()
    missing = [f"{section}: {name}" for section, name in every_declared_option() if f"<code>{name}</code>" not in page]
    assert not missing, missing


def test_the_generated_trial_reference_holds_every_declared_message_key(site):
    page = (site / "reference" / "trial-results" / "index.html").read_text()
    missing = [
        f"{message.__name__}.{key}"
        for message in MESSAGES
        for key in declared_keys(message)
        if f"<code>{key}</code>" not in page or f"<code>{message.__name__}</code>" not in page
    ]
    assert not missing, missing
