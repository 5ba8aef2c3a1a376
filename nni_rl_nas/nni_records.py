"""What NNI's own database (``<experiment>/db/nni.sqlite``) records about an experiment.

NNI keeps the database up to date while the experiment runs, so it is only ever opened read-only.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def open_database(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def database_of_checkpoint(checkpoint_directory: Path) -> Path:
    """NNI gives a strategy ``<experiment>/checkpoint``; its database is ``<experiment>/db/nni.sqlite``."""
    return checkpoint_directory.parent / "db" / "nni.sqlite"


def submitted_parameter_ids(path: Path) -> set[int]:
    """The strategy's parameter ids that NNI turned into trials: a submitted trial's event carries them."""
    connection = open_database(path)
    try:
        rows = connection.execute("SELECT data FROM TrialJobEvent WHERE data IS NOT NULL AND data != ''").fetchall()
    finally:
        connection.close()
    submitted = set()
    for (data,) in rows:
        try:
            parameter_id = json.loads(data).get("parameter_id")
        except (ValueError, AttributeError):  # IMPORT_DATA events carry other payloads
            continue
        if isinstance(parameter_id, int):
            submitted.add(parameter_id)
    return submitted
