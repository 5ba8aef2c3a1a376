"""What a trial leaves in its output directory, written atomically.

``model.pt`` holds tensors only (the state dict of the agent's policy, or of the classifier) and
``trial.json`` the architecture, options and results, so a saved model is rebuilt from the
model space and loaded with ``torch.load(weights_only=True)``: opening a result never executes
pickled code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same directory, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)  # writers that go by the extension
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be read by others
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    write_atomically(path, lambda target: target.write_text(json.dumps(data, indent=2, default=str)))


def save_trial_outputs(output_dir: Path, state_dict: dict[str, torch.Tensor], record: dict[str, Any]) -> None:
    write_atomically(output_dir / "model.pt", lambda target: torch.save(state_dict, target))
    write_json(output_dir / "trial.json", record)
