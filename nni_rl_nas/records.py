"""What NNI records about an experiment, read without torch: where its folder is, its database
(``<experiment>/db/nni.sqlite``), and why a trial ended without a score.

NNI keeps the database up to date while the experiment runs, so it is only ever opened read-only.

Why a trial ended without a score, in words a researcher can act on: NNI keeps only a status.
The reason is in what the trial left behind: its ``trial.stderr``, whose last traceback ends in
the exception that failed it, and the NNI manager's log, which says when NNI stopped a trial for
running past ``maxTrialDuration``. What neither shows is said from the status, as NNI labels it
once ``nni-rl-nas setup`` has fixed those labels.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

ENDED_WITHOUT_SCORE = ("FAILED", "EARLY_STOPPED", "USER_CANCELED", "SYS_CANCELED")

STATUS_REASONS = {
    "FAILED": "its process died without a Python error: a signal (SIGKILL, the out-of-memory killer) or a crash "
    "in native code",
    "EARLY_STOPPED": "stopped by NNI as hopeless (the assessor) or for running past maxTrialDuration",
    "USER_CANCELED": "canceled from the web UI or nnictl, or by the experiment's stop",
    "SYS_CANCELED": "canceled by NNI: the experiment failed (its status says why) or the training service ended it",
}
OVER_DURATION = "has been canceled because it is over max trial duration"


def experiments_root() -> Path:
    """Where nnictl keeps experiments unless a config sets experimentWorkingDirectory."""
    return Path(os.environ.get("HOME", str(Path.home()))) / "nni-experiments"


def resolve_folder(target: str | Path, root: Path | None = None) -> Path:
    """``target`` itself when it is an existing folder, else an experiment id under ``root`` (~/nni-experiments)."""
    path = Path(target)
    return path if path.exists() else (root or experiments_root()) / str(target)


def open_database(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


CONTROLLER_PROGRESS_FILE = "controller_progress.json"  # in NNI's checkpoint directory, beside the strategy's state
RACE_FILE = "race.json"  # there too: the race's answer and each architecture's seeds (plain JSON)


def controller_progress_of(experiment_folder: Path) -> list[dict]:
    """What a controller strategy (policy gradient) recorded after each update; [] when nothing was,
    or when the file does not hold a list of updates (records are untrusted)."""
    path = experiment_folder / "checkpoint" / CONTROLLER_PROGRESS_FILE
    try:
        updates = json.loads(path.read_text()) if path.exists() else []
    except (OSError, ValueError):
        return []
    return [update for update in updates if isinstance(update, dict)] if isinstance(updates, list) else []


def race_of(experiment_folder: Path) -> dict:
    """What the strategy's race recorded (:meth:`nni_rl_nas.racing.Race.summary`); {} when nothing
    was, or when the file does not hold a mapping (records are untrusted)."""
    path = experiment_folder / "checkpoint" / RACE_FILE
    try:
        race = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}
    return race if isinstance(race, dict) else {}


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


def exception_line(stderr: str) -> str | None:
    """The exception that ended the last traceback in ``stderr`` ('RuntimeError: ...'), if any.

    A traceback's body is indented, so its first unindented line after the header is the exception.
    """
    lines = stderr.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not headers:
        return None
    return next((line for line in lines[headers[-1] + 1 :] if line.strip() and not line[0].isspace()), None)


def failure_reason(trial_id: str, status: str, experiment_folder: Path | None) -> str:
    """Why trial ``trial_id`` (NNI status ``status``) has no score, from the experiment's folder if at hand."""
    if experiment_folder is not None and status == "EARLY_STOPPED":
        manager_log = experiment_folder / "log" / "nnimanager.log"
        if manager_log.exists() and f"Trial job {trial_id} {OVER_DURATION}" in manager_log.read_text(errors="replace"):
            return "stopped by NNI for running past maxTrialDuration"
    if experiment_folder is not None and status == "FAILED":
        for stderr in experiment_folder.glob(f"environments/*/trials/{trial_id}/trial.stderr"):
            raised = exception_line(stderr.read_text(errors="replace"))
            if raised:
                return f"raised {raised}"
    return STATUS_REASONS.get(status, f"NNI status {status}")
