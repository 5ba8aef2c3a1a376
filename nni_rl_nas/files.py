"""Atomic writes: a reader (the web UI, ``report``, a resumed strategy) never sees half a file,
and a process killed mid-write leaves the previous version whole. Imports nothing from the package."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same directory, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix
    )  # writers that go by the extension
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


def append_json_lines(path: Path, records: list[Any]) -> None:
    """Append one JSON line per record, all or none: the file is rewritten whole through a temporary
    file, so a long computation stopped mid-write keeps every earlier line and no partial one."""
    before = path.read_text() if path.exists() else ""
    lines = "".join(json.dumps(record) + "\n" for record in records)
    write_atomically(path, lambda target: target.write_text(before + lines))
