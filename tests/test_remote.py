"""remote_quick_cartpole.yml through NNI's remote training service, against an SSH server on 127.0.0.1.

The test starts its own ``sshd`` (OpenSSH; ``apt-get install openssh-server``) on a free loopback
port, with a key made for the run and the worker's HOME in a temporary folder, so the "remote"
trials write nowhere else. Only the config's machine list and nniManagerIp are changed.
"""

import contextlib
import getpass
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.experiments import check_trial, finished_trials, free_port, start_experiment

SSHD = "/usr/sbin/sshd"


@contextlib.contextmanager
def loopback_sshd(directory: Path, worker_home: Path):
    """An sshd on 127.0.0.1 that lets this user in with a fresh key; yields (port, key file)."""
    directory.mkdir()
    worker_home.mkdir()
    for name, kind in (("host_key", "ed25519"), ("client_key", "rsa")):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-m", "PEM", "-f", str(directory / name)], check=True)
    shutil.copy(directory / "client_key.pub", directory / "authorized_keys")
    port = free_port()
    (directory / "sshd_config").write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {directory / "host_key"}
AuthorizedKeysFile {directory / "authorized_keys"}
PidFile {directory / "sshd.pid"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
SetEnv HOME={worker_home}
""")
    log = open(directory / "sshd.log", "w")
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(directory / "sshd_config")], stderr=log)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [
                "ssh",
                "-i",
                str(directory / "client_key"),
                "-p",
                str(port),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                f"{getpass.getuser()}@127.0.0.1",
                "true",
            ],
            capture_output=True,
        ).returncode:
            assert server.poll() is None and time.monotonic() < deadline, (directory / "sshd.log").read_text()
            time.sleep(0.5)
        yield port, directory / "client_key"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


@pytest.mark.slow
@pytest.mark.skipif(not os.access(SSHD, os.X_OK), reason="needs OpenSSH's sshd: apt-get install openssh-server")
def test_remote_config_runs_its_trials_over_ssh(tmp_path):
    if not Path("/run/sshd").is_dir():
        Path("/run/sshd").mkdir(mode=0o755)  # sshd's privilege-separation folder (root only)
    worker_home = tmp_path / "worker"
    with loopback_sshd(tmp_path / "ssh", worker_home) as (port, key):

        def on_this_machine(raw: dict) -> None:
            raw["nniManagerIp"] = "127.0.0.1"
            raw["trainingService"]["machineList"] = [
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "user": getpass.getuser(),
                    "sshKeyFile": str(key),
                    "pythonPath": str(Path(sys.executable).parent),
                }
            ]

        with start_experiment(tmp_path, "remote_quick_cartpole.yml", on_this_machine) as (experiment_id, api, _):
            trials, metrics = finished_trials(experiment_id, api)
            worker_root = worker_home / "nni-experiments" / experiment_id
            built = {check_trial(trial, metrics, worker_root)["architecture"] for trial in trials}
    assert built == {"16-relu", "16-tanh", "64-relu", "64-tanh"}
    assert {path.name for path in (worker_root / "environments").iterdir()} == {"remote-worker1"}
